// Test helpers: the REAL bridge binary started per test (as tests/python/conftest.py does),
// on its own ipc:// endpoints and --data dir under $XTB_TMPDIR, stopped by its PID.
// XTB_BRIDGE_BIN picks the binary (default <repo>/build/bin/xtbridge); a missing binary
// fails the test (a test that cannot run is a failure, never a skip).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';
import { loadProto } from '../lib/index.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BRIDGE = process.env.XTB_BRIDGE_BIN || path.join(REPO, 'build', 'bin', 'xtbridge');
export const XTBCTL = path.join(path.dirname(BRIDGE), 'xtbctl');
export const ACC = '1000000365';
export const CODE = '600000.SH';
const proto = loadProto();

// $XTB_TMPDIR (relative: to the current directory, as scripts/test.sh passes it) or
// <repo>/build/tmp; endpoints are written relative to the cwd to stay short (ipc:// paths
// are limited to ~100 bytes).
const TMP = process.env.XTB_TMPDIR || path.relative(process.cwd(), path.join(REPO, 'build', 'tmp'));
let counter = 0;

/** A fresh directory and endpoints for one bridge: {dir, router, pub}. */
export function place(name = 'b') {
  counter += 1;
  const dir = path.join(TMP, `xtbt-node-${process.pid}-${counter}-${name}`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return { dir, router: `ipc://${dir}/r`, pub: `ipc://${dir}/p` };
}

/** One request on a fresh DEALER outside any Trader: the decoded Reply, or null. */
export async function rawCall(endpoint, name, body = {}, { timeoutMs = 1000, curve } = {}) {
  const sock = new zmq.Dealer({ linger: 0, receiveTimeout: timeoutMs, ...(curve ? {
    curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey,
    curveSecretKey: curve.secretKey } : {}) });
  sock.connect(endpoint);
  try {
    await sock.send(proto.Request.encode(proto.Request.fromObject(
      { request_id: `raw-${Date.now()}-${Math.random()}`, [name]: body })).finish());
    const frames = await sock.receive();
    return proto.Reply.decode(frames[frames.length - 1]);
  } catch {
    return null;
  } finally {
    sock.close();
  }
}

export class Bridge {
  constructor(where, { config, heartbeatMs = 200, extra = [], data } = {}) {
    this.where = where;
    this.router = where.router;
    this.pub = where.pub;
    this.data = data || path.join(where.dir, 'data');
    this.args = ['--backend', 'sim', '--router', this.router, '--pub', this.pub,
      '--data', this.data, '--heartbeat-ms', String(heartbeatMs)];
    if (config) {
      const file = path.join(where.dir, 'bridge.cfg');
      fs.writeFileSync(file, config);
      this.args.push('--config', file);
    }
    this.args.push(...extra);
    this.logPath = path.join(where.dir, 'bridge.log');
    this.proc = null;
  }

  log() {
    try {
      return fs.readFileSync(this.logPath, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }

  /** Starts the binary and waits until it answers hello (10 s at most). */
  async start({ curve } = {}) {
    assert.ok(fs.existsSync(BRIDGE), `bridge binary ${BRIDGE} not built (run ` +
      'scripts/bootstrap.sh or set XTB_BRIDGE_BIN)');
    const out = fs.openSync(this.logPath, 'a');
    this.proc = spawn(BRIDGE, this.args, { stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve(code ?? sig)));
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`bridge exited at start:\n${this.log()}`);
      if (await rawCall(this.router, 'hello', { client_name: 'node-test' },
        { timeoutMs: 300, curve })) return this;
    }
    await this.stop();
    throw new Error(`bridge did not answer hello within 10 s:\n${this.log()}`);
  }

  signal(sig) {
    process.kill(this.proc.pid, sig);
  }

  /** SIGTERM (by PID) and the exit code; SIGKILL if it does not exit within 10 s. */
  async stop() {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

export async function startBridge(opts = {}) {
  return new Bridge(place(opts.name), opts).start({ curve: opts.curve });
}

/** Records every event of a Trader and lets a test wait for a condition on them. */
export class Recorder {
  constructor(trader, names) {
    this.events = [];
    this.waiters = [];
    for (const name of names) {
      trader.on(name, (body, meta) => {
        this.events.push({ name, body, meta });
        this.waiters = this.waiters.filter((w) => !w());
      });
    }
  }

  of(name) {
    return this.events.filter((e) => e.name === name).map((e) => e.body);
  }

  /** Resolves with pred's value once truthy; rejects after timeoutMs. */
  waitFor(pred, timeoutMs = 5000, what = 'condition') {
    return new Promise((resolve, reject) => {
      // checked on every event, and every 20 ms for conditions on the trader's state
      const check = () => {
        const v = pred(this);
        if (v) {
          clearTimeout(timer);
          clearInterval(poll);
          resolve(v);
          return true;
        }
        return false;
      };
      const poll = setInterval(() => { if (check()) this.waiters = this.waiters.filter((w) => w !== check); }, 20);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`timed out waiting for ${what}; events: ${JSON.stringify(
          this.events.map((e) => e.name))}`));
      }, timeoutMs);
      if (!check()) this.waiters.push(check);
    });
  }
}

export const PUSHES = ['stock_order', 'stock_trade', 'order_error', 'cancel_error',
  'order_stock_async_response', 'cancel_order_stock_async_response', 'stock_asset',
  'stock_position', 'account_status', 'connected', 'disconnected', 'epoch_change'];

/** Money compared to the cent. */
export function cents(actual, expected, what) {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${what}: ${actual} != ${expected}`);
}

export function keygen(file, accounts, role) {
  const r = spawnSync(XTBCTL, ['keygen', file, '--accounts', accounts, '--role', role],
    { encoding: 'utf8', timeout: 10000 });
  assert.equal(r.status, 0, `xtbctl keygen: ${r.stdout}${r.stderr}`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
