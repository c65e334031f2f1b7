// The Node client against the real bridge (sim backend): the README's worked example with
// exact values, async calls and their pushes, errors as rejected promises.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Trader, XtBridgeError } from '../lib/index.js';
import { ACC, CODE, PUSHES, Recorder, cents, startBridge } from './helpers.mjs';

const FUTURES = '1000000367';
const CREDIT = '1208970161';
const STOCK_BUY = 23;
const STOCK_SELL = 24;
const FIX_PRICE = 11;

describe('quick start against the real bridge', () => {
  let bridge;
  let trader;
  let rec;
  before(async () => {
    bridge = await startBridge({ name: 'qs' });
    trader = new Trader({ endpoint: bridge.router, timeoutMs: 5000 });
    rec = new Recorder(trader, PUSHES);
  });
  after(async () => {
    await trader.close();
    assert.equal(await bridge.stop(), 0, bridge.log());
  });

  const ordersOf = (id) => rec.of('stock_order').filter((o) => o.order_id === id);
  const status = (id, s) => rec.waitFor(() => ordersOf(id).some((o) => o.order_status === s),
    5000, `order ${id} status ${s}`);

  test('connect learns the PUB endpoint from hello', async () => {
    const hello = await trader.connect();
    assert.equal(hello.protocol_version, 2);
    assert.equal(hello.backend, 'sim');
    assert.deepEqual(hello.pub_endpoints, [bridge.pub]);
    assert.deepEqual(trader.pubEndpoints, [bridge.pub]);
    // the sim's built-in accounts: the stock account, a futures account (type 1) and a
    // credit account (type 3)
    assert.deepEqual(hello.accounts.map((a) => [a.account_id, a.account_type]),
      [[ACC, 2], [FUTURES, 1], [CREDIT, 3]]);
    assert.ok(hello.calls.includes('order_stock') && hello.calls.includes('replay'));
    assert.match(hello.bridge_epoch, /^[1-9][0-9]*$/);
    assert.equal(await trader.subscribe(ACC), 0);
  });

  test('a resting buy, its fill, T+1, cancels: exact values', async () => {
    const oid = await trader.orderStock(ACC, CODE, STOCK_BUY, 1000, FIX_PRICE, 10.50,
      'strategy_name', 'remark');
    assert.equal(oid, 1); // a fresh data dir
    await status(oid, 50);
    assert.deepEqual(ordersOf(oid).map((o) => o.order_status).slice(0, 2), [48, 50]);
    const o = ordersOf(oid).at(-1);
    assert.deepEqual([o.account_id, o.account_type, o.stock_code, o.order_type, o.order_volume,
      o.strategy_name, o.order_remark, o.traded_volume],
    [ACC, 2, CODE, STOCK_BUY, 1000, 'strategy_name', 'remark', 0]);
    cents(o.price, 10.50, 'price');
    let asset = await trader.queryStockAsset(ACC);
    assert.equal(asset.account_id, ACC);
    cents(asset.cash, 989494.89, 'cash');
    cents(asset.frozen_cash, 10505.11, 'frozen_cash');
    cents(asset.total_asset, 1000000.00, 'total_asset');
    assert.equal((await trader.queryStockOrder(ACC, oid)).order_status, 50);
    assert.deepEqual((await trader.queryStockOrders(ACC)).map((x) => x.order_id), [oid]);
    assert.deepEqual((await trader.queryStockOrders(ACC, true)).map((x) => x.order_id), [oid]);
    assert.deepEqual(await trader.queryStockTrades(ACC), []);
    assert.equal(await trader.queryStockPosition(ACC, CODE), null);

    // the market drops through the limit: filled at the order's own price
    const sim = await trader.simSetPrice(CODE, 10.40);
    assert.equal(typeof sim.message, 'string');
    await rec.waitFor(() => rec.of('stock_trade').length === 1, 5000, 'the fill');
    const t = rec.of('stock_trade')[0];
    assert.deepEqual([t.order_id, t.stock_code, t.traded_volume, t.order_sysid],
      [oid, CODE, 1000, o.order_sysid]);
    cents(t.traded_price, 10.50, 'traded_price');
    cents(t.traded_amount, 10500.00, 'traded_amount');
    cents(t.commission, 5.11, 'commission');
    await status(oid, 56);
    await rec.waitFor(() => rec.of('stock_asset').length >= 2 && rec.of('stock_position').length,
      5000, 'the fill\'s asset and position pushes');
    const names = rec.events.filter((e) => ['stock_trade', 'stock_position', 'stock_asset']
      .includes(e.name) || (e.name === 'stock_order' && e.body.order_status === 56))
      .map((e) => e.name);
    assert.deepEqual(names.slice(0, 5), ['stock_asset', 'stock_trade', 'stock_order',
      'stock_position', 'stock_asset']);
    const pos = await trader.queryStockPosition(ACC, CODE);
    assert.deepEqual([pos.volume, pos.can_use_volume, pos.yesterday_volume, pos.frozen_volume],
      [1000, 0, 0, 0]);
    cents(pos.avg_price, 10.50511, 'avg_price');
    cents(pos.market_value, 10400.00, 'market_value');
    asset = await trader.queryStockAsset(ACC);
    cents(asset.cash, 989494.89, 'cash after fill');
    cents(asset.frozen_cash, 0, 'frozen after fill');
    cents(asset.total_asset, 999894.89, 'total after fill');
    assert.deepEqual((await trader.queryStockTrades(ACC)).map((x) => x.traded_id), [t.traded_id]);
    assert.deepEqual((await trader.queryStockPositions(ACC)).map((p) => [p.stock_code, p.volume]),
      [[CODE, 1000]]);

    // T+1: selling today's shares is a junk order (-61 order_error), not a rejected promise
    const sid = await trader.orderStock(ACC, CODE, STOCK_SELL, 1000, FIX_PRICE, 10.40);
    assert.equal(sid, 2);
    await status(sid, 57);
    const err = await rec.waitFor(() => rec.of('order_error').find((e) => e.order_id === sid));
    assert.equal(err.error_id, -61);
    assert.equal(err.error_msg, 'insufficient shares: sell 1000, sellable 0');

    // cancel of a finished order: -1 and a cancel_error push (-63)
    assert.equal(await trader.cancelOrderStock(ACC, oid), -1);
    const ce = await rec.waitFor(() => rec.of('cancel_error').find((e) => e.order_id === oid));
    assert.equal(ce.error_id, -63);

    // next day: T+1 settles, the sell fills at last with stamp duty
    await trader.simNextDay();
    const p2 = await trader.queryStockPosition(ACC, CODE);
    assert.deepEqual([p2.volume, p2.can_use_volume, p2.yesterday_volume], [1000, 1000, 1000]);
    const sid2 = await trader.orderStockAsync(ACC, CODE, STOCK_SELL, 1000, FIX_PRICE, 10.40);
    assert.ok(sid2 > 0);
    await rec.waitFor(() => rec.of('stock_trade').length === 2, 5000, 'the sell fill');
    const t2 = rec.of('stock_trade')[1];
    assert.equal(t2.traded_volume, 1000);
    cents(t2.traded_amount, 10400.00, 'sell amount');
    cents(t2.commission, 10.30, 'sell fees');
    cents((await trader.queryStockAsset(ACC)).cash, 999884.59, 'cash at the end');
  });

  test('order_stock_async: the response push comes before the order\'s pushes', async () => {
    const seq = await trader.orderStockAsync(ACC, CODE, STOCK_BUY, 200, FIX_PRICE, 10.00,
      'strategy_name', 'remark');
    assert.ok(seq > 0);
    const resp = await rec.waitFor(() => rec.of('order_stock_async_response')
      .find((r) => r.seq === seq), 5000, 'the async response');
    const aid = resp.order_id;
    assert.ok(aid > 0);
    assert.deepEqual([resp.account_id, resp.strategy_name, resp.order_remark],
      [ACC, 'strategy_name', 'remark']);
    await status(aid, 50);
    const idx = rec.events.findIndex((e) => (e.name === 'order_stock_async_response'
      && e.body.seq === seq) || (e.name === 'stock_order' && e.body.order_id === aid));
    assert.equal(rec.events[idx].name, 'order_stock_async_response');
    cents((await trader.queryStockAsset(ACC)).frozen_cash, 2005.02, 'frozen 200 x 10.00 + fees');
    // async cancel: response (seq) then the order's 51, 54
    const cseq = await trader.cancelOrderStockAsync(ACC, aid);
    const cr = await rec.waitFor(() => rec.of('cancel_order_stock_async_response')
      .find((r) => r.seq === cseq), 5000, 'the async cancel response');
    assert.equal(cr.cancel_result, 0);
    await status(aid, 54);
    // async cancel of an unknown order: response -1, then cancel_error with its seq
    const bad = await trader.cancelOrderStockAsync(ACC, 987654321);
    await rec.waitFor(() => rec.of('cancel_error').find((e) => e.seq === bad));
    const seqd = rec.events.filter((e) => e.body && e.body.seq === bad).map((e) => e.name);
    assert.deepEqual(seqd, ['cancel_order_stock_async_response', 'cancel_error']);
    assert.equal(rec.of('cancel_order_stock_async_response').find((r) => r.seq === bad)
      .cancel_result, -1);
    // the meta of every push: per-topic seq, contiguous, once each (no duplicates delivered)
    const seqs = rec.events.filter((e) => e.meta && e.meta.topic === `order.${ACC}.`)
      .map((e) => e.meta.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
  });

  test('errors reject with the bridge\'s code and text', async () => {
    await assert.rejects(trader.orderStock(ACC, CODE, STOCK_BUY, 0, FIX_PRICE, 10.5), (e) => {
      assert.ok(e instanceof XtBridgeError);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.equal(e.errorCode, 3);
      assert.equal(e.call, 'order_stock');
      assert.match(e.bridgeMessage, /order_volume/);
      return true;
    });
    // a credit call on the STOCK account: the sim serves it for CREDIT accounts only
    await assert.rejects(trader.queryCreditDetail(ACC), (e) => {
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.equal(e.errorCode, 3);
      assert.match(e.bridgeMessage, /query_credit_detail needs a CREDIT account/);
      return true;
    });
    await assert.rejects(trader.call('no_such_call', {}), { code: 'UNKNOWN_CALL', errorCode: null });
    // an unknown account is xtquant's answer, not an error
    assert.equal(await trader.orderStock('42', CODE, STOCK_BUY, 100, FIX_PRICE, 10.5), -1);
    assert.equal(await trader.queryStockAsset('42'), null);
    assert.deepEqual(await trader.queryStockOrders('42'), []);
    // every call of the contract is a method
    const infos = await trader.queryAccountInfos();
    assert.deepEqual(infos.map((a) => [a.account_id, a.account_type]),
      [[ACC, 2], [FUTURES, 1], [CREDIT, 3]]);
    assert.deepEqual((await trader.queryAccountStatus()).map((s) => [s.account_id, s.status]),
      [[ACC, 0], [FUTURES, 0], [CREDIT, 0]]);
    const stats = await trader.stats();
    assert.ok(stats.requests > 10 && stats.calls.order_stock >= 4);
    const ping = await trader.ping();
    assert.ok(BigInt(ping.bridge_time_ns) > 0n && ping.rtt_ms > 0);
    for (const name of trader.proto.calls) {
      if (name === 'hello') continue; // trader.hello is connect()'s answer; helloCall() asks again
      assert.equal(typeof trader[name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())],
        'function', name);
    }
  });
});

test('a call to a bridge that is not there rejects NO_REPLY within its timeout', async () => {
  const trader = new Trader({ endpoint: 'ipc://nothing-listens-here', timeoutMs: 400 });
  const t0 = Date.now();
  await assert.rejects(trader.connect(), { code: 'NO_REPLY', errorCode: null });
  await assert.rejects(trader.queryStockAsset(ACC), { code: 'NO_REPLY' });
  assert.ok(Date.now() - t0 < 2000);
  await trader.close();
  await assert.rejects(trader.queryStockAsset(ACC), { code: 'NOT_CONNECTED_CLIENT' });
});
