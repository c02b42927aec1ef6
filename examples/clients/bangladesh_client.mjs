// A Bangladesh merchant backend's Vexora client, in the shape of the public TypeScript integration
// (thtushor/gs365-backend: BKASH/NAGAD Checkout, payinSubmit, disbursements, queryPayOutResult, queryBalance).
// It signs as that integration does (sorted keys, empty and null values skipped, key=value joined, the secret
// appended, MD5 in lower-case hex), sends timestamps as JSON numbers (Date.now()), and logs every exchange it
// makes as a JSON-lines capture (what an axios interceptor would write), for `vexora-conformance validate`.
//
//   node bangladesh_client.mjs BASE_URL SECRET MERCHANT_NO CAPTURE.jsonl [mistake...]
//
// Mistakes it can be told to make: repeat-payout-tradeno, decimal-payout, secret-first-payout,
// no-wallet-payout, myanmar-submit-path.
import { createHash } from "node:crypto";
import { appendFileSync, writeFileSync } from "node:fs";

const [base, secret, merchantNo, capture, ...mistakes] = process.argv.slice(2);
const wants = (m) => mistakes.includes(m);
writeFileSync(capture, "");

function sign(body, secretFirst = false) {
  const text = Object.keys(body).sort()
    .filter((k) => k !== "sign" && body[k] !== "" && body[k] !== null && body[k] !== undefined)
    .map((k) => `${k}=${body[k]}`).join("");
  return createHash("md5").update(secretFirst ? secret + text : text + secret, "utf8").digest("hex");
}

async function post(path, params, { secretFirst = false } = {}) {
  const body = { ...params, timestamp: Date.now() };
  body.sign = sign(body, secretFirst);
  const url = `${base}${path}`;
  const headers = { "Content-Type": "application/json", merchantNo };
  const text = JSON.stringify(body);
  const response = await fetch(url, { method: "POST", headers, body: text });
  const answer = await response.text();
  appendFileSync(capture, JSON.stringify({
    request: { method: "POST", url, headers: Object.entries(headers), body: text },
    response: { status: response.status, headers: [["content-type", response.headers.get("content-type")]],
                body: answer },
    time: Date.now() / 1000,
  }) + "\n");
  return JSON.parse(answer);
}

const stamp = Date.now();
const deposit = await post("/v1/vexora/checkout", {
  tradeNo: `D${stamp}`, amount: "500", wayCode: "BKASH", notifyUrl: "https://merchant.example/notify",
  returnUrl: "https://merchant.example/done", remark: "deposit",
});
// The payment link: the integration reads data.paymentLink; the page says data.paymentUrl. Read both.
const link = deposit.data && (deposit.data.paymentLink || deposit.data.paymentUrl);
if (!link) throw new Error(`no payment link in ${JSON.stringify(deposit)}`);

const submitPath = wants("myanmar-submit-path") ? "/v1/vexora/payInSubmit" : "/v1/vexora/payinSubmit";
const submitted = await post(submitPath, { platFormTradeNo: deposit.data.platFormTradeNo, trxId: "TRX8H2K9" });

const payoutNo = `P${stamp}`;
const payout = (changes = {}, options = {}) => post("/v1/vexora/disbursements", {
  tradeNo: payoutNo, amount: "300", walletId: "01712345678", wayCode: "NAGAD",
  notifyUrl: "https://merchant.example/notify-payout", remark: "", ...changes,
}, options);
const first = await payout();
if (wants("repeat-payout-tradeno")) await payout();
if (wants("decimal-payout")) await payout({ tradeNo: `${payoutNo}d`, amount: "300.50" });
if (wants("secret-first-payout")) await payout({ tradeNo: `${payoutNo}s` }, { secretFirst: true });
if (wants("no-wallet-payout")) await payout({ tradeNo: `${payoutNo}w`, walletId: undefined });

const status = await post("/v1/vexora/queryPayOutResult", { tradeNo: payoutNo });
const balance = await post("/v1/vexora/queryBalance", {});
console.log(JSON.stringify({ deposit: deposit.code, submitted: submitted.data, payout: first.data.status,
                             status: status.data.status, available: balance.data.availableAmount }));
