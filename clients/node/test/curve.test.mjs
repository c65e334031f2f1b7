// The Node client against a bridge run with CURVE (--curve-secret/--clients): keys made
// with `xtbctl keygen` (czmq cert files), given as cert files or as z85 keys. A trader of
// account A is served and gets A's pushes; account B is FORBIDDEN; no key, no answer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Trader, readCertFile } from '../lib/index.js';
import { PUSHES, Recorder, keygen, startBridge, place } from './helpers.mjs';

const A = '1000000365';
const B = '1000000366';
const CONFIG = `sim\n    account\n        id = ${A}\n        cash = 1000000\n`
  + `    account\n        id = ${B}\n        cash = 1000000\n`;
let bridge;
let keys;
const traders = [];
const make = (opts) => {
  const t = new Trader({ timeoutMs: 3000, ...opts, endpoint: bridge.router });
  traders.push(t);
  return t;
};

before(async () => {
  const where = place('curve-keys');
  keys = path.join(where.dir, 'keys');
  const clients = path.join(where.dir, 'clients');
  fs.mkdirSync(keys);
  fs.mkdirSync(clients);
  keygen(path.join(keys, 'server.cert'), '*', 'admin');
  keygen(path.join(keys, 'admin'), '*', 'admin');
  keygen(path.join(keys, 'trader_a'), A, 'trader');
  for (const n of ['admin', 'trader_a']) fs.renameSync(path.join(keys, n), path.join(clients, n));
  const admin = readCertFile(path.join(keys, 'admin_secret'));
  bridge = await startBridge({ name: 'curve', config: CONFIG,
    extra: ['--curve-secret', path.join(keys, 'server.cert'), '--clients', clients],
    curve: { serverKey: readCertFile(path.join(keys, 'server.cert')).publicKey, ...admin } });
});

after(async () => {
  for (const t of traders) await t.close();
  assert.equal(await bridge.stop(), 0, bridge.log());
});

test('a trader key is served for its own account only', async () => {
  const t = make({ curve: { cert: path.join(keys, 'trader_a_secret'),
    server: path.join(keys, 'server.cert') } });
  const rec = new Recorder(t, PUSHES);
  const hello = await t.connect();
  assert.deepEqual(hello.accounts.map((a) => a.account_id), [A]);
  assert.deepEqual((await t.queryAccountInfos()).map((a) => a.account_id), [A]);
  assert.equal(await t.subscribe(A), 0);
  const oid = await t.orderStock(A, '600000.SH', 23, 100, 11, 10.60, 's', 'r');
  assert.equal(oid, 1);
  const trade = await rec.waitFor(() => rec.of('stock_trade').find((x) => x.order_id === oid));
  assert.equal(trade.traded_volume, 100);
  await assert.rejects(t.orderStock(B, '600000.SH', 23, 100, 11, 10.60), {
    code: 'FORBIDDEN', errorCode: 5,
    bridgeMessage: `account '${B}' is not among this key's accounts` });
  await assert.rejects(t.simNextDay(), { code: 'FORBIDDEN', errorCode: 5 });
});

test('z85 keys work as well; an admin key sees both accounts', async () => {
  const mine = readCertFile(path.join(keys, 'admin_secret'));
  const t = make({ curve: { serverKey: readCertFile(path.join(keys, 'server.cert')).publicKey,
    publicKey: mine.publicKey, secretKey: mine.secretKey } });
  await t.connect();
  assert.deepEqual((await t.queryAccountInfos()).map((a) => a.account_id).sort(), [A, B]);
  assert.deepEqual((await t.queryStockOrders(A)).map((o) => o.order_id), [1]);
  assert.deepEqual(await t.queryStockOrders(B), []);
});

test('without a key the bridge answers nothing', async () => {
  const t = make({ timeoutMs: 600 });
  await assert.rejects(t.connect(), { code: 'NO_REPLY' });
});
