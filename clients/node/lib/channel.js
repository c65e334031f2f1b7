// The request channel: one DEALER to the bridge's ROUTER, shared by every call of a Trader.
//
// Why it looks like this (same semantics as the Python client's _channel.py):
// - Calls are matched to replies by request_id, so many calls may be in flight at once
//   (the bridge may answer out of order, docs/protocol.md section 4).
// - A call re-sends the SAME bytes (same request_id) every retryMs until its reply comes
//   or timeoutMs passes. The DEALER keeps one explicit routing id for the Trader's whole
//   life, so the bridge's idempotency table (routing id or CURVE key, request_id) answers a
//   retried order with the original reply instead of placing it twice (section 7).
// - ZMQ_IMMEDIATE with a zero send timeout: while no connection exists a send fails at
//   once instead of queueing, so a request we gave up on cannot reach a bridge that comes
//   back later; the retry timer simply tries again.
// - DUPLICATE_IN_FLIGHT means our retry overtook the original: keep waiting for its reply.
// zeromq v6 allows one pending send per socket, so sends go through one promise chain.
import crypto from 'node:crypto';
import os from 'node:os';
import * as zmq from 'zeromq';

/** 'xtb-node-<host>-<pid>-<random hex>': unique per Trader, readable in the bridge's logs. */
export function newRoutingId() {
  const host = (os.hostname().split('.')[0] || 'host').slice(0, 32);
  return `xtb-node-${host}-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
}

/** CURVE client options for a zeromq v6 socket ({} without keys). */
export function curveOptions(curve) {
  if (!curve || !curve.serverKey) return {};
  return { curveServerKey: curve.serverKey, curvePublicKey: curve.publicKey,
    curveSecretKey: curve.secretKey };
}

export class Channel {
  constructor(proto, { endpoint, curve, timeoutMs = 10000, retryMs, routingId, log }) {
    this.proto = proto;
    this.endpoint = endpoint;
    this.curve = curve;
    this.timeoutMs = timeoutMs;
    this.retryMs = retryMs || Math.max(50, Math.min(1000, timeoutMs / 4));
    this.routingId = routingId || newRoutingId();
    this.log = log;
    this.prefix = crypto.randomBytes(4).toString('hex');
    this.counter = 0;
    this.pending = new Map(); // request_id -> { finish(reply|null) }
    this.sends = 0;           // frames sent in total (tests look at this)
    this.sock = null;
    this.sendChain = Promise.resolve();
    this.closed = false;
  }

  open() {
    const sock = new zmq.Dealer({
      routingId: this.routingId, linger: 0, immediate: true, sendTimeout: 0,
      reconnectInterval: 100, reconnectMaxInterval: 1000, ...curveOptions(this.curve),
    });
    sock.connect(this.endpoint);
    this.sock = sock;
    this._receive(sock);
  }

  async _receive(sock) {
    try {
      for await (const frames of sock) this._onReply(frames[frames.length - 1]);
    } catch (e) {
      if (!this.closed) this.log('warn', `request socket failed: ${e.message}`);
    }
  }

  _onReply(buf) {
    let reply;
    try {
      reply = this.proto.Reply.decode(buf);
    } catch {
      this.log('warn', 'undecodable reply dropped');
      return;
    }
    const entry = this.pending.get(reply.request_id);
    if (!entry) return; // a late answer to a request we gave up on
    if (reply.error && reply.error.code === this.proto.code.DUPLICATE_IN_FLIGHT) return;
    entry.finish(reply);
  }

  nextRequestId() {
    this.counter += 1;
    return `${this.prefix}-${this.counter}`;
  }

  _send(data) {
    this.sendChain = this.sendChain.then(async () => {
      if (this.closed || !this.sock) return;
      try {
        await this.sock.send(data);
        this.sends += 1;
      } catch {
        // no connection yet (ZMQ_IMMEDIATE) or the queue is full: the retry timer resends
      }
    });
  }

  /**
   * Sends Request{request_id, [name]: body} and resolves with the decoded Reply, or null
   * when none came within timeoutMs (or the channel closed). Never rejects.
   */
  exchange(name, body, { timeoutMs, requestId } = {}) {
    if (this.closed) return Promise.resolve(null);
    if (!this.sock) this.open();
    const rid = requestId || this.nextRequestId();
    const data = this.proto.Request.encode(
      this.proto.Request.fromObject({ request_id: rid, [name]: body || {} })).finish();
    const timeout = timeoutMs ?? this.timeoutMs;
    return new Promise((resolve) => {
      if (this.pending.has(rid)) {
        // the same id already in flight from this Trader: share its answer
        const prev = this.pending.get(rid);
        const prevFinish = prev.finish;
        prev.finish = (r) => { prevFinish(r); resolve(r); };
        return;
      }
      const entry = {};
      const retry = setInterval(() => this._send(data), this.retryMs);
      const timer = setTimeout(() => {
        this.log('warn', `no reply to ${name} (request_id ${rid}) within ${timeout} ms`);
        entry.finish(null);
      }, timeout);
      entry.finish = (reply) => {
        clearInterval(retry);
        clearTimeout(timer);
        this.pending.delete(rid);
        resolve(reply);
      };
      this.pending.set(rid, entry);
      this._send(data);
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const entry of [...this.pending.values()]) entry.finish(null);
    if (this.sock) this.sock.close();
    this.sock = null;
  }
}
