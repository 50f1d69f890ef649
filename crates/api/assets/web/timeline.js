// A virtual list for a chat's history: only the rows near the viewport
// are in the DOM (a chat of 10 000 messages keeps a few dozen), with
// spacers standing in for the rest. Row heights are measured once shown
// and estimated before; the first visible row is the anchor, so loading
// older messages or measuring a row never makes the view jump. Stuck to
// the bottom, it follows new messages.

import { el } from "./dom.js";

const ESTIMATE = 84; // px, a row not yet measured
const OVERSCAN = 900; // px rendered above and below the viewport

export class Timeline {
  /** `items()`: the rows in order, each with an `id`; `render(item)`: its
   *  element; `onNearTop()`: the user neared the oldest row shown;
   *  `onScroll(stuck)`: after each scroll. */
  constructor({ items, render, onNearTop, onScroll, label }) {
    this.items = items;
    this.renderItem = render;
    this.onNearTop = onNearTop;
    this.onScrollChange = onScroll;
    this.heights = new Map();
    this.stuck = true;
    this.anchor = null; // {id, delta}: the first visible row and how far into it
    this.range = [0, 0];
    this.offsets = [0];
    this.ids = [];
    this.version = 0;
    this.shownVersion = -1;
    this.frame = 0;
    this.top = el("div", { class: "spacer", "aria-hidden": "true" });
    this.bottom = el("div", { class: "spacer", "aria-hidden": "true" });
    this.rows = el("div", { class: "rows" });
    this.element = el("div", { class: "messages", id: "message-list", role: "log", "aria-label": label, tabindex: "0" },
      this.top, this.rows, this.bottom);
    this.element.addEventListener("scroll", () => this.scrolled());
    // A new size (window, panel, keyboard on a phone): the same place —
    // still at the bottom, or the same first row — at the new width.
    let width = 0;
    let height = 0;
    new ResizeObserver(([entry]) => {
      const box = entry.contentRect;
      if (box.width === width && box.height === height) return;
      if (box.width !== width) this.heights.clear();
      width = box.width;
      height = box.height;
      this.version += 1;
      this.render(true);
      this.onScrollChange?.(this.stuck);
    }).observe(this.element);
  }

  /** The rows changed: render again (now). */
  refresh() {
    this.version += 1;
    this.render();
  }

  scrollToBottom() {
    this.stuck = true;
    this.render(true);
  }

  /** Brings the row with this id into view (when it is loaded). */
  reveal(id) {
    const index = this.ids.indexOf(id);
    if (index === -1) return false;
    this.stuck = false;
    this.anchor = { id, delta: -this.element.clientHeight / 3 };
    this.render(true);
    return true;
  }

  scrolled() {
    const list = this.element;
    this.stuck = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    this.anchor = this.anchorAt(list.scrollTop);
    this.onScrollChange?.(this.stuck);
    if (list.scrollTop < OVERSCAN) this.onNearTop?.();
    if (!this.frame) {
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }
  }

  anchorAt(scrollTop) {
    const i = Math.max(0, upperBound(this.offsets, scrollTop) - 1);
    if (i >= this.ids.length) return null;
    return { id: this.ids[i], delta: scrollTop - this.offsets[i] };
  }

  measure(items) {
    const offsets = new Array(items.length + 1);
    offsets[0] = 0;
    for (let i = 0; i < items.length; i += 1) offsets[i + 1] = offsets[i] + (this.heights.get(items[i].id) ?? ESTIMATE);
    return offsets;
  }

  targetTop(offsets, ids) {
    const list = this.element;
    if (this.stuck) return Math.max(0, offsets[ids.length] - list.clientHeight);
    if (this.anchor) {
      const index = ids.indexOf(this.anchor.id);
      if (index !== -1) return Math.max(0, offsets[index] + this.anchor.delta);
    }
    return list.scrollTop;
  }

  render(force = false) {
    const list = this.element;
    // The rows and their offsets are worked out again only after a
    // change (refresh), not on every scroll frame.
    if (this.cached?.version !== this.version) {
      const items = this.items();
      this.cached = { version: this.version, items, ids: items.map((item) => item.id), offsets: this.measure(items) };
    }
    const { items, ids } = this.cached;
    let offsets = this.cached.offsets;
    let top = this.targetTop(offsets, ids);
    const view = list.clientHeight || 600;
    const first = Math.max(0, upperBound(offsets, top - OVERSCAN) - 1);
    const last = Math.min(items.length, upperBound(offsets, top + view + OVERSCAN));
    const same = this.range[0] === first && this.range[1] === last && this.shownVersion === this.version;
    this.ids = ids;
    this.offsets = offsets;
    if (same && !force) return;

    // Keep the focus where it was: the same control (by its data-action,
    // which stays when its label changes) of the same message, or the
    // editor.
    const focus = document.activeElement;
    const focusRow = focus && this.rows.contains(focus) ? focus.closest("[data-id]")?.dataset.id : null;
    const focusAction = focus?.dataset?.action;
    const focusId = focus?.id;

    const nodes = items.slice(first, last).map((item) => {
      const row = el("div", { class: "row", "data-row": item.id }, this.renderItem(item));
      return row;
    });
    this.rows.replaceChildren(...nodes);
    let changed = false;
    nodes.forEach((row, k) => {
      const height = row.offsetHeight;
      const id = ids[first + k];
      if (height && this.heights.get(id) !== height) {
        this.heights.set(id, height);
        changed = true;
      }
    });
    if (changed) {
      offsets = this.measure(items);
      this.cached.offsets = offsets;
      this.offsets = offsets;
      top = this.targetTop(offsets, ids);
    }
    this.top.style.height = `${offsets[first]}px`;
    this.bottom.style.height = `${offsets[items.length] - offsets[last]}px`;
    this.range = [first, last];
    this.shownVersion = this.version;
    if (Math.abs(list.scrollTop - top) > 1) list.scrollTop = top;
    if (this.stuck) list.scrollTop = list.scrollHeight;
    this.anchor = this.anchorAt(list.scrollTop);

    if (focusRow) restoreFocus(this.rows, focusRow, focusAction, focusId);
  }
}

/** Focuses the element with this id, else the control with this
 *  data-action in the message with this id, else the message. */
export function restoreFocus(root, messageId, action, id) {
  const row = root.querySelector(`[data-id="${CSS.escape(messageId)}"]`);
  const again = (id && document.getElementById(id))
    || (action && row?.querySelector(`[data-action="${CSS.escape(action)}"]`))
    || row;
  if (again === row && row) row.setAttribute("tabindex", "-1");
  again?.focus({ preventScroll: true });
}

/** The first index whose value is greater than `value`. */
function upperBound(sorted, value) {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (sorted[mid] <= value) low = mid + 1;
    else high = mid;
  }
  return low;
}
