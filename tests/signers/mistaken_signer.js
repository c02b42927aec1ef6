// A TypeScript-style client signer in Node.js, written without vexora_conformance, making one of the
// JavaScript mistakes named by argv[2]. It speaks check-signer's line protocol.
// What JavaScript does by itself is always there: JSON.parse rounds integers past 2^53, and numbers
// print as JavaScript prints them; so a signer's mistake may come with those two beside it.
"use strict";
const crypto = require("crypto");
const readline = require("readline");

const mistake = process.argv[2] || "correct";

function render(value) {
  if (value === null) return "null";
  if (typeof value === "object") {
    // the mistake: String() gives "[object Object]" and "a,b"; otherwise the compact JSON text
    return mistake === "nested-as-js-string" ? String(value) : JSON.stringify(value);
  }
  return String(value); // numbers as JavaScript prints them (number-as-js), booleans true/false
}

function sign(params, secret) {
  let keys = Object.keys(params).filter((k) => k !== "sign");
  if (mistake === "case-insensitive-sort") {
    keys.sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0));
  } else {
    keys.sort(); // UTF-16 code units, as the reference
  }
  let text = "";
  for (const key of keys) {
    const value = params[key];
    if (value === null && mistake === "null-skipped") continue;
    let rendered = render(value);
    if (mistake === "url-encoded-values") rendered = encodeURIComponent(rendered);
    const emptyArray = mistake === "nested-as-js-string" && Array.isArray(value);
    if (rendered === "" && !emptyArray) continue; // a JS client signs an empty array as "k="
    text += key + "=" + rendered;
  }
  return crypto.createHash("md5").update(text + secret, "utf8").digest("hex");
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => {
  if (!line) return;
  const { params, secret } = JSON.parse(line);
  process.stdout.write(sign(params, secret) + "\n");
});
