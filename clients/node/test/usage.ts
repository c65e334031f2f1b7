// Compiled (never run) by test/types.test.mjs with tsc --strict: the README's usage, typed.
import { Trader, XtBridgeError, type XtOrder, type XtTrade } from '../lib/index.js';

declare function log(...args: unknown[]): void;

async function main(): Promise<void> {
  const trader = new Trader({ endpoint: 'tcp://127.0.0.1:58610', timeoutMs: 5000 });
  trader.on('stock_trade', (t: XtTrade, meta) => {
    const amount: number = t.traded_amount;
    const seq: number = meta.seq;
    log(t.stock_code, amount, seq);
  });
  trader.on('disconnected', (why) => log(why.reason));
  const hello = await trader.connect();
  const epoch: string = hello.bridge_epoch;
  const n: number = hello.heartbeat_ms;
  await trader.subscribe('1000000365');
  const id: number = await trader.orderStock('1000000365', '600000.SH', 23, 100, 11, 10.5,
    'demo', 'r1');
  const orders: XtOrder[] = await trader.queryStockOrders({ account_id: '1000000365' });
  const asset = await trader.queryStockAsset('1000000365');
  const cash: number | undefined = asset?.cash;
  const sim = await trader.simSetPrice('600000.SH', 10.4);
  const msg: string = sim.message;
  const stats = await trader.stats();
  const hits: number = stats.idempotent_hits;
  const page = await trader.replay({ topic_prefix: 'order.', max_events: 10 });
  const more: boolean = page.more;
  const r = await trader.call('query_stock_orders', { cancelable_only: true });
  const first: XtOrder | undefined = r.orders[0];
  try {
    await trader.cancelOrderStock('1000000365', id);
  } catch (e) {
    if (e instanceof XtBridgeError) log(e.code, e.errorCode, e.bridgeMessage);
  }
  log(epoch, n, orders.length, cash, msg, hits, more, first);
  await trader.close();
}
void main;
