// The client's surface without a bridge: every call of proto/xtbridge.proto is a method
// and is typed in lib/index.d.ts, PUB endpoint substitution (docs/protocol.md section 2),
// account forms.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Trader, camelName, loadProto, pubEndpointFor, toAccount } from '../lib/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

test('every call of the proto is a method, typed in index.d.ts or generated', () => {
  const proto = loadProto();
  assert.ok(proto.calls.includes('order_stock') && proto.calls.includes('sim_tick'));
  const trader = new Trader({ endpoint: 'ipc://unused' });
  const dts = fs.readFileSync(path.join(here, '..', 'lib', 'index.d.ts'), 'utf8');
  // written by `npm test`'s pretest (tools/gen-types.mjs)
  const generated = fs.readFileSync(path.join(here, '..', 'lib', 'messages.d.ts'), 'utf8');
  for (const name of proto.calls) {
    const method = name === 'hello' ? 'helloCall' : camelName(name);
    assert.equal(typeof trader[method], 'function', method);
    const typed = new RegExp(`^\\s+${method}\\(`, 'm');
    assert.ok(typed.test(dts) || typed.test(generated), `${method} is typed nowhere`);
  }
  for (const name of proto.calls) {
    assert.match(generated, new RegExp(`^  ${name}: \\w+;$`, 'm'), `CallRequests.${name}`);
  }
});

test('a wildcard PUB host becomes the ROUTER host', () => {
  assert.equal(pubEndpointFor('tcp://*:58611', 'tcp://10.0.0.5:58610'), 'tcp://10.0.0.5:58611');
  assert.equal(pubEndpointFor('tcp://0.0.0.0:6000', 'tcp://bridge.example:58610'),
    'tcp://bridge.example:6000');
  assert.equal(pubEndpointFor('tcp://[::]:6000', 'tcp://[::1]:58610'), 'tcp://[::1]:6000');
  assert.equal(pubEndpointFor('tcp://*:58611', 'ipc:///run/x'), 'tcp://127.0.0.1:58611');
  assert.equal(pubEndpointFor('tcp://*:58611', '>tcp://src;proxy:5555'), 'tcp://proxy:58611');
  assert.equal(pubEndpointFor('tcp://10.1.1.1:58611', 'tcp://10.0.0.5:58610'),
    'tcp://10.1.1.1:58611');
  assert.equal(pubEndpointFor('ipc:///run/p', 'tcp://10.0.0.5:58610'), 'ipc:///run/p');
});

test('accounts: an id, or xtquant\'s StockAccount fields', () => {
  assert.deepEqual(toAccount('1000000365'), { account_id: '1000000365', account_type: 2 });
  assert.deepEqual(toAccount({ account_id: '7', account_type: 3 }),
    { account_id: '7', account_type: 3 });
  assert.deepEqual(toAccount({ accountId: '7' }), { account_id: '7', account_type: 2 });
});

test('bad CURVE options are refused at construction', () => {
  assert.throws(() => new Trader({ curve: { serverKey: '' } }), /curve needs/);
});
