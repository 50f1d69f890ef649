// DOM helpers. Every string passed here becomes a text node or an
// attribute value, never HTML: this is what keeps user content inert.

/** An element with attributes and children (strings become text nodes).
 *  `on*` attributes become listeners, `text` sets textContent. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** `text` as nodes with every occurrence of the words wrapped in `<mark>`
 *  (case-insensitive), for search results. */
export function highlight(text, words) {
  const terms = words.map((w) => w.toLowerCase()).filter(Boolean);
  if (!terms.length) return [text];
  const lower = text.toLowerCase();
  const out = [];
  let at = 0;
  while (at < text.length) {
    let best = -1;
    let length = 0;
    for (const term of terms) {
      const found = lower.indexOf(term, at);
      if (found !== -1 && (best === -1 || found < best || (found === best && term.length > length))) {
        best = found;
        length = term.length;
      }
    }
    if (best === -1) break;
    if (best > at) out.push(text.slice(at, best));
    out.push(el("mark", { text: text.slice(best, best + length) }));
    at = best + length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}
