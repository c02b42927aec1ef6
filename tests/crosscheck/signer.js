// An independent implementation of the provider's reference signing routine, in Node.js,
// written from the provider's published description (not from our Python code).
// Protocol (the same as `vexora-conformance check-signer`): one JSON object per stdin line,
// {"params": {...}, "secret": "..."}; one stdout line per case: the sign. With --canonical it
// prints "SIGN HEX", HEX being the UTF-8 of the canonical string in hex.
// JavaScript's default sort compares UTF-16 code units, exactly like Java's String.compareTo.
"use strict";
const crypto = require("crypto");
const readline = require("readline");

const withCanonical = process.argv.includes("--canonical");
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });

rl.on("line", (line) => {
  if (!line) return;
  const { params, secret } = JSON.parse(line);
  let canonical = "";
  for (const key of Object.keys(params).sort()) {
    const value = String(params[key]); // String(null) === "null", like Java's String.valueOf
    if (key === "sign" || value === "") continue;
    canonical += key + "=" + value;
  }
  const sign = crypto.createHash("md5").update(canonical + secret, "utf8").digest("hex");
  process.stdout.write(withCanonical ? `${sign} ${Buffer.from(canonical, "utf8").toString("hex")}\n` : `${sign}\n`);
});
