// The bus hidden: retries with the same request id place one order, a lost push is
// replayed (gap detection, paging with `after` and `more`), a bridge restart leaves no
// hole, a silent bridge is 'disconnected' and its return 'connected', a journal reset
// (new epoch) restarts seq tracking.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { Trader } from '../lib/index.js';
import { ACC, Bridge, CODE, PUSHES, Recorder, place, sleep, startBridge } from './helpers.mjs';

const BUY = [23, 100, 11]; // STOCK_BUY, 100 shares, FIX_PRICE
const buy = (t, price) => t.orderStock(ACC, CODE, BUY[0], BUY[1], BUY[2], price, 's', 'r');

/** The seqs a recorder got on a topic, in delivery order. */
const seqsOf = (rec, topic) => rec.events.filter((e) => e.meta && e.meta.topic === topic)
  .map((e) => e.meta.seq);
const upTo = (n, from = 1) => Array.from({ length: n - from + 1 }, (_, i) => i + from);

async function withBridge(opts, fn) {
  const bridge = await startBridge(opts);
  const traders = [];
  const make = async (topts = {}) => {
    const t = new Trader({ endpoint: bridge.router, timeoutMs: 5000, ...topts });
    traders.push(t);
    const rec = new Recorder(t, PUSHES);
    await t.connect();
    return [t, rec];
  };
  try {
    await fn(bridge, make);
  } finally {
    for (const t of traders) await t.close();
    await bridge.stop();
  }
}

test('the same request id twice: one order, the original reply', async () => {
  await withBridge({ name: 'idem' }, async (bridge, make) => {
    const [t] = await make();
    const fields = { account: { account_id: ACC, account_type: 2 }, stock_code: CODE,
      order_type: 23, order_volume: 100, price_type: 11, price: 10.0 };
    const r1 = await t.call('order_stock', fields, { requestId: 'node-same-1' });
    const r2 = await t.call('order_stock', fields, { requestId: 'node-same-1' });
    assert.equal(r1.order_id, 1);
    assert.equal(r2.order_id, 1);
    assert.deepEqual((await t.queryStockOrders(ACC)).map((o) => o.order_id), [1]);
    assert.equal((await t.stats()).idempotent_hits, 1);
  });
});

test('retries while the bridge is stopped (SIGSTOP) re-send the same id: one order', async () => {
  await withBridge({ name: 'retry' }, async (bridge, make) => {
    const [t] = await make({ retryMs: 50 });
    const sendsBefore = t.channel.sends;
    bridge.signal('SIGSTOP');
    const pending = buy(t, 10.0);
    await sleep(500);
    bridge.signal('SIGCONT');
    assert.equal(await pending, 1);
    assert.ok(t.channel.sends - sendsBefore >= 5, `sent ${t.channel.sends - sendsBefore} times`);
    await sleep(200); // the copies still queued at the bridge are answered from the table
    assert.deepEqual((await t.queryStockOrders(ACC)).map((o) => o.order_id), [1]);
    const stats = await t.stats();
    // every copy after the first was answered from the idempotency table
    assert.ok(stats.calls.order_stock >= 2);
    assert.equal(stats.idempotent_hits, stats.calls.order_stock - 1);
  });
});

test('pushes lost while the SUB was away are replayed, page by page', async () => {
  // heartbeats every second: the SUB is away for less than 3 intervals, so the gap is
  // found by the next push's seq, not by the heartbeat watchdog
  await withBridge({ name: 'gap', heartbeatMs: 1000 }, async (bridge, make) => {
    const [t, rec] = await make({ replayMaxEvents: 2 });
    const [other] = await make();
    assert.equal(await t.subscribe(ACC), 0);
    await rec.waitFor(() => t.postSubscribeReplays === 1, 3000, 'post-subscribe replay');
    const ids = [await buy(other, 10.0)];
    await rec.waitFor(() => rec.of('stock_order').length === 2, 3000, 'first order pushes');
    t.sub.disconnect(t.pubEndpoints[0]);
    await sleep(100);
    for (let i = 0; i < 3; i += 1) ids.push(await buy(other, 10.0)); // 6 pushes lost
    t.sub.connect(t.pubEndpoints[0]);
    const hb = rec.events.length;
    await new Promise((resolve) => t.once('heartbeat', resolve)); // filters back in place
    assert.equal(rec.events.length, hb, 'nothing arrived while away');
    const pagesBefore = t.pushStats.replayPages;
    assert.equal(await other.cancelOrderStock(ACC, ids[0]), 0); // seq 9: a gap after 2
    await rec.waitFor(() => rec.of('stock_order').length === 10, 5000, 'replayed orders');
    assert.deepEqual(rec.of('stock_order').map((o) => [o.order_id, o.order_status]), [
      [1, 48], [1, 50], [2, 48], [2, 50], [3, 48], [3, 50], [4, 48], [4, 50], [1, 51], [1, 54]]);
    assert.deepEqual(seqsOf(rec, `order.${ACC}.`), upTo(10));
    // asset: seq 1 (order 1's freeze) live, 2-4 lost, 5 (the cancel's release) shows the gap
    await rec.waitFor(() => seqsOf(rec, `asset.${ACC}.`).length === 5, 3000, 'asset pushes');
    assert.deepEqual(seqsOf(rec, `asset.${ACC}.`), upTo(5));
    assert.equal(t.pushStats.gaps, 2);
    // order: 7 events after seq 2 (8 and 9 were journaled by one commit), 2 per page: 4
    // pages; asset: 4 events after seq 1: at least 2 pages
    assert.ok(t.pushStats.replayPages - pagesBefore >= 6, `${t.pushStats.replayPages - pagesBefore} pages`);
  });
});

test('a bridge restart leaves no hole; a silent bridge is disconnected, then connected', async () => {
  const where = place('restart');
  const bridge = new Bridge(where, { heartbeatMs: 200 });
  await bridge.start();
  const t = new Trader({ endpoint: bridge.router, timeoutMs: 5000 });
  const rec = new Recorder(t, [...PUSHES, 'heartbeat']);
  const other = new Trader({ endpoint: bridge.router, timeoutMs: 5000 });
  let second;
  try {
    await t.connect();
    assert.equal(await t.subscribe(ACC), 0);
    await rec.waitFor(() => t.postSubscribeReplays === 1, 3000, 'post-subscribe replay');
    assert.equal(await buy(other, 10.0), 1);
    await rec.waitFor(() => rec.of('stock_order').length === 2, 3000, 'order 1 pushes');

    // SIGTERM: the bridge says goodbye
    assert.equal(await bridge.stop(), 0);
    const bye = await rec.waitFor(() => rec.of('disconnected')[0], 3000, 'disconnected.');
    assert.equal(typeof bye.reason, 'string');
    // the same data dir again: trading goes on while our SUB is still reconnecting
    second = new Bridge(where, { heartbeatMs: 200 });
    await second.start();
    assert.equal(await buy(other, 10.0), 2);
    assert.equal(await other.cancelOrderStock(ACC, 1), 0);
    await rec.waitFor(() => rec.of('stock_order').length === 6, 5000, 'orders after restart');
    assert.deepEqual(rec.of('stock_order').map((o) => [o.order_id, o.order_status]),
      [[1, 48], [1, 50], [2, 48], [2, 50], [1, 51], [1, 54]]);
    assert.deepEqual(seqsOf(rec, `order.${ACC}.`), upTo(6));
    await rec.waitFor(() => seqsOf(rec, `asset.${ACC}.`).length === 3, 3000, 'asset pushes');
    assert.deepEqual(seqsOf(rec, `asset.${ACC}.`), upTo(3));
    // one loss, one return: the goodbye push and the heartbeats' silence are one loss; the
    // return is the new bridge's connected. push or its first heartbeat, whichever is first
    await rec.waitFor(() => rec.of('connected').length, 3000, 'connected after the restart');
    await sleep(300);
    assert.equal(rec.of('disconnected').length, 1);
    assert.equal(rec.of('connected').length, 1);

    // a silent bridge (SIGSTOP) for more than 3 heartbeats: 'disconnected'; back: 'connected'
    const gone = rec.of('disconnected').length;
    second.signal('SIGSTOP');
    const silent = await rec.waitFor(() => rec.of('disconnected')[gone], 3000, 'watchdog');
    assert.equal(silent.reason, 'no heartbeat for 600 ms');
    assert.equal(t.alive, false);
    second.signal('SIGCONT');
    const back = await rec.waitFor(() => rec.of('connected').find((c) =>
      c.reason === 'heartbeats are back'), 3000, 'heartbeats back');
    assert.ok(back);
    assert.equal(t.alive, true);
    assert.equal(rec.of('stock_order').length, 6);
  } finally {
    await t.close();
    await other.close();
    await bridge.stop();
    if (second) assert.equal(await second.stop(), 0);
  }
});

test('a new journal (bridge_epoch) restarts seq tracking', async () => {
  const where = place('epoch');
  const first = new Bridge(where, { heartbeatMs: 200 });
  await first.start();
  const t = new Trader({ endpoint: first.router, timeoutMs: 5000 });
  const rec = new Recorder(t, PUSHES);
  let second;
  try {
    const hello = await t.connect();
    assert.equal(await t.subscribe(ACC), 0);
    assert.equal(await buy(t, 10.0), 1);
    assert.equal(await buy(t, 10.0), 2);
    await rec.waitFor(() => rec.of('stock_order').length === 4, 3000, 'orders');
    assert.equal(await first.stop(), 0);
    fs.rmSync(first.data, { recursive: true, force: true }); // a fresh store: a new epoch
    // The bridge draws a new store's epoch from czmq's randof() and time(NULL), both of the
    // current second: two stores made within one second get the same epoch. Start the
    // second one in the next second (a bridge-side weakness, reported; not the client's).
    await sleep(1100);
    second = new Bridge(where, { heartbeatMs: 200 });
    await second.start();
    const change = await rec.waitFor(() => rec.of('epoch_change')[0], 5000, 'epoch change');
    assert.equal(change.from, hello.bridge_epoch);
    assert.notEqual(change.to, hello.bridge_epoch);
    // seq 1 again on the new journal: delivered, not dropped as a duplicate
    assert.equal(await buy(t, 10.0), 1);
    await rec.waitFor(() => rec.of('stock_order').length === 6, 3000, 'new orders');
    assert.deepEqual(seqsOf(rec, `order.${ACC}.`), [1, 2, 3, 4, 1, 2]);
  } finally {
    await t.close();
    await first.stop();
    if (second) assert.equal(await second.stop(), 0);
  }
});
