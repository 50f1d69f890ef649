// Validates the served AsyncAPI document with the AsyncAPI parser (the
// reference implementation of the spec's rules), and checks that it
// describes every frame: node tests/asyncapi/validate.mjs FILE
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const { document, diagnostics } = await new Parser().parse(text);
// Severity 0 is an error; 1 a warning (reported, not fatal).
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics) console.log(`${d.severity === 0 ? "ERROR" : "note"} ${d.code}: ${d.message} at ${d.path.join(".")}`);
if (!document || errors.length) {
  console.log(`FAIL asyncapi: ${errors.length} error(s)`);
  process.exit(1);
}
const names = document.allMessages().all().map((m) => m.name());
for (const expected of ["ready", "synced", "message.created", "ack", "error", "message.send", "message.read", "typing", "ping"]) {
  if (!names.includes(expected)) {
    console.log(`FAIL asyncapi: no message ${expected}`);
    process.exit(1);
  }
}
console.log(`PASS asyncapi: AsyncAPI ${document.version()}, ${names.length} messages, ${document.operations().length} operations, ${diagnostics.length} notes`);
