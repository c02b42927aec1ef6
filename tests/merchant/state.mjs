// The shop's state adapter in Node, command form:
//   node state.mjs ORDERS.json create TRADE_NO AMOUNT   -> a pending order, exit 0
//   node state.mjs ORDERS.json read TRADE_NO            -> {"credited": "...", "status": "..."}
// It shares ORDERS.json with the shop, under the same lock (a directory: mkdir is atomic).
import fs from "node:fs";

const [orders, verb, tradeNo, amount] = process.argv.slice(2);
const lock = orders + ".lock";

function locked(fn) {
  const deadline = Date.now() + 10000;
  for (;;) {
    try { fs.mkdirSync(lock); break; } catch (e) {
      if (e.code !== "EEXIST" || Date.now() > deadline) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    }
  }
  try {
    const all = fs.existsSync(orders) ? JSON.parse(fs.readFileSync(orders, "utf8")) : {};
    const changed = fn(all);
    if (changed) { fs.writeFileSync(orders + ".tmp", JSON.stringify(all)); fs.renameSync(orders + ".tmp", orders); }
  } finally { fs.rmdirSync(lock); }
}

if (verb === "create") {
  locked((all) => { all[tradeNo] = { amount, credited: "0", status: "pending" }; return true; });
} else if (verb === "read") {
  locked((all) => {
    const order = all[tradeNo];
    if (!order) { console.error(`no order ${tradeNo}`); process.exitCode = 3; return false; }
    console.log(JSON.stringify({ credited: order.credited, status: order.status }));
    return false;
  });
} else {
  console.error(`usage: state.mjs ORDERS create TRADE_NO AMOUNT | read TRADE_NO`);
  process.exitCode = 2;
}
