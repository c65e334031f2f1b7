// Trader: xtquant.xttrader over the xtbridge bus for Node. Every xttrader call is a
// promise-returning camelCase method (orderStock, queryStockOrders, ...); every push is an
// event (trader.on('stock_trade', (trade, meta) => ...)); a call the bridge refuses rejects
// with an XtBridgeError carrying the bridge's ErrorCode and message.
//
// It hides the bus the way the Python client does (docs/protocol.md sections 6, 9, 10):
// - one DEALER for requests (lib/channel.js: request ids, retries with the same id);
// - one SUB for pushes. Every push goes through one serial queue, so listeners see pushes
//   one at a time in publish order, replays included. Per topic it tracks the last seq:
//   seq <= last is a duplicate (dropped), seq > last + 1 a gap, filled by `replay` pages
//   (pull-based: `after` advanced per page while `more`) before the push itself;
// - a new bridge_epoch (journal reset) forgets every tracked seq;
// - `heartbeat.`: no heartbeat for 3 intervals = bridge gone; when heartbeats come back,
//   or come with a new instance id (a restart: then hello says whether its backend is up),
//   every tracked topic is replayed. 'disconnected' / 'connected' fire on a change only,
//   as a terminal reports a session loss once: the bridge's `disconnected.` push and the
//   silence of its heartbeats after it are one loss (as the Python client does);
// - subscribe(account): SUB filters first, then the `subscribe` call; pushes of the
//   account are held until its reply, whose last_seq baseline becomes the topics' last
//   seq; postSubscribeReplayMs later each topic is replayed once from the baseline, which
//   fetches a push lost while the SUB filter travelled to the PUB; subscribe() resolves
//   when that replay is done.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import * as zmq from 'zeromq';
import { Channel, curveOptions } from './channel.js';
import { XtBridgeError } from './errors.js';
import { loadProto, u64, u64str } from './proto.js';

export const DEFAULT_ENDPOINT = 'tcp://127.0.0.1:58610';

/** Topic kinds pushed per account; subscribe(account) listens to all of them. */
export const ACCOUNT_KINDS = ['order', 'trade', 'order_error', 'cancel_error', 'order_async',
  'cancel_async', 'asset', 'position', 'account_status', 'smt_appointment'];

/** Event body -> the Trader event it is emitted as (xtquant's callback without 'on_'). */
export const PUSH_EVENTS = {
  order: 'stock_order',
  trade: 'stock_trade',
  order_error: 'order_error',
  cancel_error: 'cancel_error',
  order_async: 'order_stock_async_response',
  cancel_async: 'cancel_order_stock_async_response',
  asset: 'stock_asset',
  position: 'stock_position',
  account_status: 'account_status',
  smt_appointment: 'smt_appointment_async_response',
  connected: 'connected',
  disconnected: 'disconnected',
};

// Liveness signals, not state: their gaps are not worth a replay.
const NO_REPLAY = ['heartbeat.', 'connected.', 'disconnected.'];
const WILDCARD_HOSTS = ['*', '0.0.0.0', '[::]', '[*]'];

function routerHost(routerEndpoint) {
  for (let ep of (routerEndpoint || '').split(',')) {
    ep = ep.trim().replace(/^[@>]+/, '');
    if (ep.startsWith('tcp://')) {
      const hostport = ep.slice(6).split(';').pop();
      const i = hostport.lastIndexOf(':');
      if (i > 0) return hostport.slice(0, i);
    }
  }
  return null;
}

/**
 * The endpoint to connect the SUB to for one announced in hello: a wildcard host
 * (tcp://*:58611) becomes the host the ROUTER was reached at, 127.0.0.1 for ipc://
 * (docs/protocol.md section 2). Anything else unchanged.
 */
export function pubEndpointFor(announced, routerEndpoint) {
  if (!announced.startsWith('tcp://')) return announced;
  const rest = announced.slice(6);
  const i = rest.lastIndexOf(':');
  if (i < 0 || !WILDCARD_HOSTS.includes(rest.slice(0, i))) return announced;
  return `tcp://${routerHost(routerEndpoint) || '127.0.0.1'}:${rest.slice(i + 1)}`;
}

/**
 * A czmq certificate file (as `xtbctl keygen` or zmq.auth write them) ->
 * { publicKey, secretKey } (z85; secretKey null in a public cert). For `NAME` with a
 * `NAME_secret` beside it, the secret file is read.
 */
export function readCertFile(file) {
  const path = fs.existsSync(`${file}_secret`) ? `${file}_secret` : file;
  const text = fs.readFileSync(path, 'utf8');
  const key = (name) => {
    const m = text.match(new RegExp(`^\\s*${name}\\s*=\\s*"([^"]{40})"`, 'm'));
    return m ? m[1] : null;
  };
  const publicKey = key('public-key');
  if (!publicKey) throw new Error(`${path}: no public-key in this certificate`);
  return { publicKey, secretKey: key('secret-key') };
}

/** {serverKey, publicKey, secretKey} from the curve option (z85 keys or cert files). */
function resolveCurve(curve) {
  if (!curve) return null;
  if (curve.serverKey) return curve;
  if (curve.cert && curve.server) {
    const mine = readCertFile(curve.cert);
    if (!mine.secretKey) throw new Error(`curve.cert ${curve.cert} has no secret key`);
    const serverKey = curve.server.length === 40 && !fs.existsSync(curve.server)
      ? curve.server : readCertFile(curve.server).publicKey;
    return { serverKey, publicKey: mine.publicKey, secretKey: mine.secretKey };
  }
  throw new Error('curve needs {serverKey, publicKey, secretKey} (z85) or {cert, server} ' +
    '(this client\'s secret cert file and the bridge\'s public cert file)');
}

/** 'query_stock_orders' -> 'queryStockOrders' */
export function camelName(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** An xtquant StockAccount from '1000000365', {account_id, account_type} or {accountId, ...}. */
export function toAccount(a) {
  if (a === null || a === undefined) return undefined;
  if (typeof a === 'string' || typeof a === 'number') {
    return { account_id: String(a), account_type: 2 };
  }
  return { account_id: String(a.account_id ?? a.accountId ?? ''),
    account_type: Number(a.account_type ?? a.accountType ?? 2) || 2 };
}

function parseJson(text) {
  return text ? JSON.parse(text) : {};
}

export class Trader extends EventEmitter {
  /**
   * @param {object} opts
   * @param {string} [opts.endpoint]   the bridge's ROUTER (default $XTBRIDGE_ENDPOINT or
   *                                   tcp://127.0.0.1:58610)
   * @param {string} [opts.pubEndpoint] PUB endpoint(s), comma list, instead of what hello
   *                                   announces (default $XTBRIDGE_PUB_ENDPOINT)
   * @param {object} [opts.curve]      {serverKey, publicKey, secretKey} z85, or {cert, server}
   *                                   cert files
   * @param {number} [opts.timeoutMs]  how long a call may take, retries included (10000)
   * @param {number} [opts.retryMs]    re-send interval (min(1000, timeoutMs / 4), >= 50)
   */
  constructor(opts = {}) {
    super();
    this.endpoint = opts.endpoint || process.env.XTBRIDGE_ENDPOINT || DEFAULT_ENDPOINT;
    this.pubEndpoint = opts.pubEndpoint || process.env.XTBRIDGE_PUB_ENDPOINT || null;
    this.curve = resolveCurve(opts.curve);
    this.timeoutMs = opts.timeoutMs ?? 10000;
    this.retryMs = opts.retryMs;
    this.clientName = opts.clientName || `xtbridge-node pid ${process.pid}`;
    this.replayMaxEvents = opts.replayMaxEvents ?? 0; // 0 = the bridge's default (500)
    this.postSubscribeReplayMs = opts.postSubscribeReplayMs ?? 150;
    this.logger = opts.logger || ((level, msg) => {
      if (level !== 'debug') console.error(`xtbridge: ${msg}`);
    });
    this.proto = loadProto(opts.protoPath);
    this.hello = null;      // the bridge's HelloReply after connect()
    this.connected = false; // connect() done and not closed
    this.alive = true;      // false while heartbeats are missing
    this.backendDown = false;   // a `disconnected.` push not yet followed by `connected.`
    this._reportedDown = false; // 'disconnected' emitted, 'connected' not yet
    this.pushStats = { duplicates: 0, gaps: 0, replayPages: 0, catchUps: 0 };
    this.channel = null;
    this.sub = null;
    this.closed = false;
    this._lastSeq = new Map();   // topic -> last seq delivered (or subscribe baseline)
    this._pendingTopics = new Map(); // topic -> subscribe() calls awaiting their reply
    this._held = [];             // live pushes of pending topics, in arrival order
    this._subscribed = new Set();
    this._epoch = null;
    this._instanceId = null;
    this._heartbeatMs = 0;
    this._lastHeartbeat = null;
    this._firstHeartbeat = null;
    this._chain = Promise.resolve();
    this._busy = 0;
    this._busyEnded = 0;
    this._timers = new Set();
    this._replayWaiters = new Set(); // subscribe() calls waiting for their replay
    this._watchdog = null;
    this.postSubscribeReplays = 0; // post-subscribe replays finished (tests wait on it)
    // every call of the contract gets a method; the xtquant ones below take xtquant's
    // positional arguments, the rest take the request's fields: trader.simTick({...})
    for (const name of this.proto.calls) {
      const m = camelName(name);
      if (!(m in this)) this[m] = (fields, callOpts) => this.call(name, fields, callOpts);
    }
  }

  _log(level, msg) {
    try {
      this.logger(level, msg);
    } catch { /* a logger must not break the client */ }
  }

  _channel() {
    if (this.closed) {
      throw new XtBridgeError('NOT_CONNECTED_CLIENT', null, 'the trader is closed');
    }
    if (!this.channel) {
      this.channel = new Channel(this.proto, { endpoint: this.endpoint, curve: this.curve,
        timeoutMs: this.timeoutMs, retryMs: this.retryMs, log: (l, m) => this._log(l, m) });
    }
    return this.channel;
  }

  // ============================================================ requests
  /** The raw Reply (decoded protobuf) of any call, or null without a reply. Never throws. */
  async request(name, fields, opts = {}) {
    return this._channel().exchange(name, fields, opts);
  }

  /**
   * Any call by its Request.body name ('sim_set_price', 'query_stock_orders', ...) with the
   * request's fields (proto names); resolves with the reply's result as a plain object
   * (every field, int64 as Number), rejects with XtBridgeError.
   * opts: {timeoutMs, requestId} (the same requestId from this Trader = the same request).
   */
  async call(name, fields = {}, opts = {}) {
    if (!this.proto.requestType(name)) {
      throw new XtBridgeError('UNKNOWN_CALL', null, `no call '${name}' in ${this.proto.file}`,
        { call: name });
    }
    const reply = await this._channel().exchange(name, fields, opts);
    return this._result(name, reply, opts);
  }

  _result(name, reply, opts = {}) {
    if (!reply) {
      throw new XtBridgeError('NO_REPLY', null,
        `no reply within ${opts.timeoutMs ?? this.timeoutMs} ms`, { call: name });
    }
    const code = reply.error ? reply.error.code : 0;
    if (code !== 0) {
      throw new XtBridgeError(this.proto.codeName(code), code, reply.error.message,
        { call: name, requestId: reply.request_id });
    }
    if (reply.result && reply.result !== name) {
      throw new XtBridgeError('BAD_REPLY', null, `answered with ${reply.result}`,
        { call: name, requestId: reply.request_id });
    }
    // OK without a result is the empty result (an encoder may omit an all-default message)
    const type = this.proto.Reply.fields[name].resolvedType;
    return this.proto.plain(type, reply[name] || type.create());
  }

  // ============================================================ connect / close
  /**
   * hello, then the SUB on the announced PUB endpoint, then the first heartbeat (which
   * proves the push path works and that our filters are in place). Resolves with the
   * HelloReply (plain object; bridge_epoch as decimal text); rejects with XtBridgeError.
   */
  async connect() {
    if (this.connected) return this.hello;
    const reply = await this._channel().exchange('hello', {
      client_name: this.clientName, client_version: '0.1.0', protocol_version: 2 });
    const hello = this._result('hello', reply);
    hello.bridge_epoch = u64str(reply.hello && reply.hello.bridge_epoch);
    if (hello.protocol_version !== 2) {
      this._log('warn', `bridge speaks protocol ${hello.protocol_version}, this client 2`);
    }
    this.hello = hello;
    let endpoints;
    if (this.pubEndpoint) {
      endpoints = this.pubEndpoint.split(',').map((e) => e.trim()).filter(Boolean);
    } else {
      endpoints = this._pickPubEndpoints(hello.pub_endpoints);
    }
    if (!endpoints.length) {
      throw new XtBridgeError('NO_PUB_ENDPOINT', null, 'the bridge announced no PUB endpoint ' +
        '(its PUB connects out to a proxy and no --pub-advertise is set): pass pubEndpoint ' +
        'or set XTBRIDGE_PUB_ENDPOINT', { call: 'hello' });
    }
    this._epoch = hello.bridge_epoch !== '0' ? hello.bridge_epoch : null;
    this._heartbeatMs = hello.heartbeat_ms;
    this.alive = true;
    let heard;
    this._firstHeartbeat = new Promise((resolve) => { heard = resolve; });
    this._firstHeartbeat.resolve = heard;
    const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 100000,
      reconnectInterval: 100, reconnectMaxInterval: 1000, ...curveOptions(this.curve) });
    sub.subscribe('heartbeat.', 'connected.', 'disconnected.');
    for (const ep of endpoints) sub.connect(ep);
    this.sub = sub;
    this.pubEndpoints = endpoints;
    this._readPushes(sub);
    if (hello.heartbeat_ms) {
      const wait = Math.min(this.timeoutMs, 3 * hello.heartbeat_ms + 500);
      let timer;
      const ok = await Promise.race([this._firstHeartbeat.then(() => true),
        new Promise((resolve) => { timer = setTimeout(() => resolve(false), wait); })]);
      clearTimeout(timer);
      if (!ok) {
        this.sub = null;
        sub.close();
        throw new XtBridgeError('NO_HEARTBEAT', null,
          `no heartbeat on ${endpoints.join(',')} within ${wait} ms`, { call: 'hello' });
      }
      this._watchdog = setInterval(() => this._watchHeartbeat(), Math.min(100, hello.heartbeat_ms));
      this._watchdog.unref();
    }
    this.connected = true;
    return hello;
  }

  _pickPubEndpoints(announced) {
    if (!announced || !announced.length) return [];
    const scheme = this.endpoint.replace(/^[@>]+/, '').split('://')[0];
    const same = announced.filter((e) => e.startsWith(`${scheme}://`));
    return [pubEndpointFor((same.length ? same : announced)[0].replace(/^[@>]+/, ''),
      this.endpoint)];
  }

  /** Stops everything: pending calls resolve as NO_REPLY, no more events. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    this.connected = false;
    clearInterval(this._watchdog);
    for (const t of this._timers) clearTimeout(t);
    this._timers.clear();
    for (const resolve of this._replayWaiters) resolve(); // no replay will come
    this._replayWaiters.clear();
    if (this.sub) this.sub.close();
    this.sub = null;
    if (this.channel) this.channel.close();
    await this._chain;
  }

  // ============================================================ the push path
  /** Runs fn after every earlier push job: one at a time, in order. Never rejects. */
  _serial(fn) {
    const run = this._chain.then(async () => {
      this._busy += 1;
      try {
        return await fn();
      } catch (e) {
        this._log('error', `push handling failed: ${e.stack || e}`);
        return undefined;
      } finally {
        this._busy -= 1;
        this._busyEnded = Date.now();
      }
    });
    this._chain = run;
    return run;
  }

  _later(ms, fn) {
    const t = setTimeout(() => { this._timers.delete(t); fn(); }, ms);
    this._timers.add(t);
  }

  async _readPushes(sub) {
    try {
      for await (const frames of sub) {
        if (frames.length !== 2) continue;
        await this._serial(() => this._onPush(frames[1]));
      }
    } catch (e) {
      if (!this.closed && this.sub === sub) this._log('warn', `push socket failed: ${e.message}`);
    }
  }

  _event(msg) {
    return { topic: msg.topic, seq: u64(msg.seq), epoch: u64str(msg.bridge_epoch),
      kind: msg.body, msg };
  }

  async _onPush(buf) {
    let msg;
    try {
      msg = this.proto.Event.decode(buf);
    } catch {
      this._log('warn', 'undecodable push dropped');
      return;
    }
    const ev = this._event(msg);
    if (this._pendingTopics.has(ev.topic)) {
      this._held.push(ev); // subscribe() in flight: wait for its baseline
      return;
    }
    await this._handle(ev, false);
  }

  async _handle(ev, fromReplay) {
    if (this.closed) return;
    const { topic, seq } = ev;
    if (ev.epoch !== '0' && this._epoch && ev.epoch !== this._epoch) {
      this._log('warn', `bridge journal epoch changed (${this._epoch} -> ${ev.epoch}): ` +
        'seq tracking reset');
      this._lastSeq.clear();
      this.emit('epoch_change', { from: this._epoch, to: ev.epoch });
    }
    if (ev.epoch !== '0') this._epoch = ev.epoch;
    const last = this._lastSeq.get(topic);
    if (last !== undefined && seq <= last) {
      this.pushStats.duplicates += 1;
      return;
    }
    if (last !== undefined && seq > last + 1 && !fromReplay
        && !NO_REPLAY.some((p) => topic.startsWith(p))) {
      this.pushStats.gaps += 1;
      await this._replay({ [topic]: last }, topic);
      if ((this._lastSeq.get(topic) ?? 0) >= seq) return;
    }
    this._lastSeq.set(topic, seq);
    await this._deliver(ev);
  }

  /**
   * Fetches and delivers what was missed of `prefix` after the seqs in `after`, page by
   * page (one request per page, `after` advanced to the last seq received per topic,
   * until `more` is false). False when a page failed (logged).
   */
  async _replay(afterIn, prefix) {
    const after = { ...afterIn };
    let epoch = null;
    for (;;) {
      if (this.closed) return false;
      const reply = await this._channel().exchange('replay', { topic_prefix: prefix, after,
        max_events: this.replayMaxEvents });
      if (!reply || (reply.error && reply.error.code !== 0) || reply.result !== 'replay') {
        this._log('warn', `replay of ${prefix} failed (${reply ? reply.error.message
          : 'no reply'}); events may be missing`);
        return false;
      }
      const page = reply.replay;
      const pageEpoch = u64str(page.bridge_epoch);
      if (epoch && pageEpoch !== '0' && pageEpoch !== epoch) {
        this._log('warn', `journal reset during the replay of ${prefix}`);
        return false;
      }
      if (pageEpoch !== '0') epoch = pageEpoch;
      this.pushStats.replayPages += 1;
      let progressed = false;
      for (const msg of page.events) {
        const ev = this._event(msg);
        if (ev.seq > (after[ev.topic] ?? 0)) {
          after[ev.topic] = ev.seq;
          progressed = true;
        }
        await this._handle(ev, true);
      }
      if (!page.more) return true;
      if (!progressed) {
        this._log('warn', `replay of ${prefix}: the bridge said more but sent nothing new`);
        return false;
      }
    }
  }

  /** After an outage or a bridge restart: replay every topic seen. */
  async _catchUp() {
    this.pushStats.catchUps += 1;
    const topics = [...this._lastSeq.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [topic, seq] of topics) {
      if (NO_REPLAY.some((p) => topic.startsWith(p))) continue;
      if (!(await this._replay({ [topic]: seq }, topic))) break;
    }
  }

  _emit(name, ...args) {
    try {
      this.emit(name, ...args);
    } catch (e) {
      this._log('error', `a '${name}' listener threw: ${e.stack || e}`);
    }
  }

  async _deliver(ev) {
    const { kind, msg } = ev;
    const meta = { topic: ev.topic, seq: ev.seq, bridge_epoch: ev.epoch,
      time_ns: u64str(msg.time_ns) };
    if (kind === 'heartbeat') {
      const hb = msg.heartbeat;
      this._lastHeartbeat = Date.now();
      if (hb.interval_ms) this._heartbeatMs = hb.interval_ms;
      const restarted = this._instanceId !== null && hb.instance_id !== this._instanceId;
      this._instanceId = hb.instance_id;
      this._firstHeartbeat.resolve();
      if (!this.alive || restarted) {
        // a new bridge process: its start-up connected./disconnected. went out before
        // this SUB was back, so ask it whether its backend is up
        if (restarted) await this._checkBackend();
        this.alive = true;
        const reason = restarted ? 'bridge restarted (new instance id)' : 'heartbeats are back';
        this._log('warn', `${reason}; replaying missed pushes`);
        await this._catchUp();
        this._report(this.backendDown, { reason }, meta);
      }
      this._emit('heartbeat', { instance_id: hb.instance_id, uptime_ms: u64(hb.uptime_ms),
        interval_ms: hb.interval_ms }, meta);
      return;
    }
    const name = PUSH_EVENTS[kind];
    if (!name) return; // a body this client does not know: seq tracked, nothing to emit
    const type = this.proto.Event.fields[kind].resolvedType;
    const body = this.proto.plain(type, msg[kind]);
    if (kind === 'connected' || kind === 'disconnected') {
      this.backendDown = kind === 'disconnected';
      // while heartbeats are missing, their return replays and reports
      if (this.alive) this._report(this.backendDown, body, meta);
    } else {
      this._emit(name, body, meta);
    }
    this._emit('push', { kind, body, ...meta });
  }

  /** 'disconnected' / 'connected' on a change only. */
  _report(down, info, meta) {
    if (down === this._reportedDown) return;
    this._reportedDown = down;
    this._emit(down ? 'disconnected' : 'connected', info, meta);
  }

  async _checkBackend() {
    const reply = await this._channel().exchange('hello', { client_name: this.clientName,
      client_version: '0.1.0', protocol_version: 2 });
    if (reply && reply.error && reply.error.code === 0 && reply.result === 'hello') {
      this.backendDown = !reply.hello.backend_connected;
    }
  }

  _watchHeartbeat() {
    if (!this._heartbeatMs || this._lastHeartbeat === null || !this.alive || this._busy) return;
    // a long replay kept the push queue unread: count from its end, not from the last read
    const since = Date.now() - Math.max(this._lastHeartbeat, this._busyEnded);
    if (since > 3 * this._heartbeatMs) {
      this.alive = false;
      this._log('warn', `no heartbeat for ${3 * this._heartbeatMs} ms: bridge considered gone`);
      this._serial(() => this._report(true,
        { reason: `no heartbeat for ${3 * this._heartbeatMs} ms` }, null));
    }
  }

  // ============================================================ subscriptions
  _topics(acc) {
    return ACCOUNT_KINDS.map((k) => `${k}.${acc.account_id}.`);
  }

  /**
   * Listens to the account's pushes (all its topics). Resolves 0 (or the bridge's -1 for
   * an account it does not know); rejects with XtBridgeError.
   */
  async subscribe(account) {
    if (!this.connected) {
      throw new XtBridgeError('NOT_CONNECTED_CLIENT', null, 'call connect() first',
        { call: 'subscribe' });
    }
    const acc = toAccount(account);
    const key = `${acc.account_id}:${acc.account_type}`;
    const topics = this._topics(acc);
    const already = this._subscribed.has(key);
    // listen first, then tell the bridge; hold the account's pushes until the baseline
    await this._serial(() => {
      if (!already) this.sub.subscribe(...topics);
      for (const t of topics) this._pendingTopics.set(t, (this._pendingTopics.get(t) || 0) + 1);
    });
    let result;
    let error;
    try {
      const reply = await this._channel().exchange('subscribe', { account: acc });
      result = this._result('subscribe', reply);
    } catch (e) {
      error = e;
    }
    const ok = result && result.result === 0;
    if (ok) this._subscribed.add(key);
    const baseline = ok ? Object.fromEntries(topics.map((t) => [t, result.last_seq[t] || 0]))
      : null;
    let replayed;
    const done = new Promise((resolve) => { replayed = resolve; });
    this._replayWaiters.add(replayed);
    await this._serial(() => this._endSubscribe(topics, baseline, key, replayed));
    if (!ok && !this._subscribed.has(key) && this.sub) {
      await this._serial(() => this.sub && this.sub.unsubscribe(...topics));
    }
    if (error) throw error;
    // Resolve once the post-subscribe replay is done: a replay running while the strategy
    // trades would deliver a topic's newest pushes ahead of other topics' live ones (the
    // replay goes topic by topic), so a subscribe-then-trade strategy sees publish order.
    if (ok) await done;
    this._replayWaiters.delete(replayed);
    return result.result;
  }

  async _endSubscribe(topics, baseline, key, replayed) {
    for (const t of topics) {
      const n = (this._pendingTopics.get(t) || 0) - 1;
      if (n > 0) this._pendingTopics.set(t, n);
      else this._pendingTopics.delete(t);
    }
    if (baseline) {
      for (const t of topics) {
        if ((this._lastSeq.get(t) ?? -1) < baseline[t]) this._lastSeq.set(t, baseline[t]);
      }
      this._later(this.postSubscribeReplayMs,
        () => this._serial(() => this._replayAfterSubscribe(topics, baseline, key))
          .then(replayed));
    } else {
      replayed();
    }
    const release = this._held.filter((ev) => !this._pendingTopics.has(ev.topic));
    this._held = this._held.filter((ev) => this._pendingTopics.has(ev.topic));
    for (const ev of release) await this._handle(ev, false);
  }

  async _replayAfterSubscribe(topics, baseline, key) {
    try {
      if (!this._subscribed.has(key)) return; // unsubscribed meanwhile
      for (const t of topics) {
        if (!this.alive) break; // the catch-up after the outage replays these
        if (!(await this._replay({ [t]: baseline[t] }, t))) break;
      }
    } finally {
      this.postSubscribeReplays += 1;
      this._emit('post_subscribe_replay', { topics });
    }
  }

  async unsubscribe(account) {
    const acc = toAccount(account);
    const key = `${acc.account_id}:${acc.account_type}`;
    const result = await this.call('unsubscribe', { account: acc });
    if (this._subscribed.delete(key)) {
      const topics = this._topics(acc);
      await this._serial(() => {
        if (this.sub) this.sub.unsubscribe(...topics);
        for (const t of topics) this._lastSeq.delete(t);
      });
    }
    return result.result;
  }

  // ============================================================ bridge calls
  /** hello again (the trader's own hello is in trader.hello). */
  async helloCall() {
    return this.call('hello', { client_name: this.clientName, protocol_version: 2 });
  }

  /** ping: {client_time_ns, bridge_time_ns} as decimal text, and the round trip in ms. */
  async ping() {
    const t0 = process.hrtime.bigint();
    const now = String(BigInt(Date.now()) * 1000000n);
    const reply = await this._channel().exchange('ping', { client_time_ns: now });
    this._result('ping', reply);
    return { client_time_ns: u64str(reply.ping.client_time_ns),
      bridge_time_ns: u64str(reply.ping.bridge_time_ns),
      rtt_ms: Number(process.hrtime.bigint() - t0) / 1e6 };
  }

  async riskKillSwitch(account, engaged, cancelOpen = false) {
    return this.call('risk_kill_switch', { account: toAccount(account), engaged: !!engaged,
      cancel_open: !!cancelOpen });
  }

  // ============================================================ xttrader: orders
  _orderBody(account, stockCode, orderType, orderVolume, priceType, price, strategyName,
    orderRemark) {
    return { account: toAccount(account), stock_code: String(stockCode),
      order_type: Number(orderType), order_volume: Number(orderVolume),
      price_type: Number(priceType), price: Number(price),
      strategy_name: String(strategyName ?? ''), order_remark: String(orderRemark ?? '') };
  }

  /** Order id (> 0, also for an order the counter rejects: see 'order_error'), or -1. */
  async orderStock(account, stockCode, orderType, orderVolume, priceType, price,
    strategyName = '', orderRemark = '', opts = {}) {
    return (await this.call('order_stock', this._orderBody(account, stockCode, orderType,
      orderVolume, priceType, price, strategyName, orderRemark), opts)).order_id;
  }

  /** Request seq (> 0) or -1; the order id comes in 'order_stock_async_response'. */
  async orderStockAsync(account, stockCode, orderType, orderVolume, priceType, price,
    strategyName = '', orderRemark = '', opts = {}) {
    return (await this.call('order_stock_async', this._orderBody(account, stockCode, orderType,
      orderVolume, priceType, price, strategyName, orderRemark), opts)).seq;
  }

  /** 0 when the cancel was sent, -1 when it failed ('cancel_error' follows). */
  async cancelOrderStock(account, orderId, opts = {}) {
    return (await this.call('cancel_order_stock', { account: toAccount(account),
      order_id: Number(orderId) }, opts)).result;
  }

  async cancelOrderStockAsync(account, orderId, opts = {}) {
    return (await this.call('cancel_order_stock_async', { account: toAccount(account),
      order_id: Number(orderId) }, opts)).seq;
  }

  async cancelOrderStockSysid(account, market, orderSysid, opts = {}) {
    return (await this.call('cancel_order_stock_sysid', { account: toAccount(account),
      market: Number(market), order_sysid: String(orderSysid) }, opts)).result;
  }

  async cancelOrderStockSysidAsync(account, market, orderSysid, opts = {}) {
    return (await this.call('cancel_order_stock_sysid_async', { account: toAccount(account),
      market: Number(market), order_sysid: String(orderSysid) }, opts)).seq;
  }

  /** {success, msg} */
  async fundTransfer(account, transferDirection, price) {
    return this.call('fund_transfer', { account: toAccount(account),
      transfer_direction: Number(transferDirection), price: Number(price) });
  }

  /** The vendor's dict: {msg: ...} or {error: {msg: ...}}. */
  async syncTransactionFromExternal(operation, dataType, account, dealList = []) {
    const r = await this.call('sync_transaction_from_external', { operation: String(operation),
      data_type: String(dataType), account: toAccount(account),
      deal_list_json: dealList.map((d) => JSON.stringify(d)) });
    return parseJson(r.json);
  }

  async setRelaxedResponseOrderEnabled(enabled) {
    await this.call('set_relaxed_response_order_enabled', { enabled: !!enabled });
    return null;
  }

  // ============================================================ xttrader: queries
  async _list(name, account, attr) {
    return (await this.call(name, { account: toAccount(account) }))[attr];
  }

  /** XtAsset, or null (xtquant's None). */
  async queryStockAsset(account) {
    const r = await this.call('query_stock_asset', { account: toAccount(account) });
    return r.found ? r.asset : null;
  }

  /** XtOrder, or null. */
  async queryStockOrder(account, orderId) {
    const r = await this.call('query_stock_order', { account: toAccount(account),
      order_id: Number(orderId) });
    return r.found ? r.order : null;
  }

  /** [XtOrder] */
  async queryStockOrders(account, cancelableOnly = false) {
    return (await this.call('query_stock_orders', { account: toAccount(account),
      cancelable_only: !!cancelableOnly })).orders;
  }

  async queryStockTrades(account) { return this._list('query_stock_trades', account, 'trades'); }

  /** XtPosition, or null. */
  async queryStockPosition(account, stockCode) {
    const r = await this.call('query_stock_position', { account: toAccount(account),
      stock_code: String(stockCode) });
    return r.found ? r.position : null;
  }

  async queryStockPositions(account) {
    return this._list('query_stock_positions', account, 'positions');
  }

  async queryPositionStatistics(account) {
    return this._list('query_position_statistics', account, 'statistics');
  }

  async queryCreditDetail(account) { return this._list('query_credit_detail', account, 'details'); }

  async queryStkCompacts(account) { return this._list('query_stk_compacts', account, 'compacts'); }

  async queryCreditSubjects(account) {
    return this._list('query_credit_subjects', account, 'subjects');
  }

  async queryCreditSloCode(account) {
    return this._list('query_credit_slo_code', account, 'slo_codes');
  }

  async queryCreditAssure(account) { return this._list('query_credit_assure', account, 'assures'); }

  /** {type: number} ('KCB', 'SH', 'SZ') */
  async queryNewPurchaseLimit(account) {
    const limits = await this._list('query_new_purchase_limit', account, 'limits');
    return Object.fromEntries(limits.map((l) => [l.type, l.number]));
  }

  /** {stock_code: {name, type, minPurchaseNum, ...}} */
  async queryIpoData() {
    const r = await this.call('query_ipo_data', {});
    return Object.fromEntries(r.ipos.map(({ stock_code: code, ...info }) => [code, info]));
  }

  async queryAccountInfos() { return (await this.call('query_account_infos', {})).accounts; }

  async queryAccountStatus() { return (await this.call('query_account_status', {})).statuses; }

  async queryComFund(account) {
    return (await this.call('query_com_fund', { account: toAccount(account) })).fund;
  }

  async queryComPosition(account) {
    return this._list('query_com_position', account, 'positions');
  }

  _exportBody(account, resultPath, dataType, startTime, endTime, userParam) {
    return { account: toAccount(account), result_path: String(resultPath),
      data_type: String(dataType), start_time: startTime == null ? '' : String(startTime),
      end_time: endTime == null ? '' : String(endTime),
      user_param_json: JSON.stringify(userParam || {}) };
  }

  async exportData(account, resultPath, dataType, startTime = null, endTime = null,
    userParam = {}) {
    return parseJson((await this.call('export_data', this._exportBody(account, resultPath,
      dataType, startTime, endTime, userParam))).json);
  }

  async queryData(account, resultPath, dataType, startTime = null, endTime = null,
    userParam = {}) {
    return parseJson((await this.call('query_data', this._exportBody(account, resultPath,
      dataType, startTime, endTime, userParam))).json);
  }

  async smtQueryQuoter(account) { return this._list('smt_query_quoter', account, 'quoters'); }

  async smtNegotiateOrderAsync(account, srcGroupId, orderCode, date, amount, applyRate,
    dictParam = {}) {
    return (await this.call('smt_negotiate_order_async', { account: toAccount(account),
      src_group_id: String(srcGroupId), order_code: String(orderCode), date: Number(date),
      amount: Number(amount), apply_rate: Number(applyRate),
      dict_param_json: JSON.stringify(dictParam || {}) })).seq;
  }

  async smtQueryCompact(account) { return this._list('smt_query_compact', account, 'compacts'); }

  // ============================================================ sim admin calls
  /** sim_set_price: last price (and optionally pre_close, liquidity), then matching. */
  async simSetPrice(stockCode, lastPrice, { preClose = 0, liquidity = -1 } = {}) {
    return this.call('sim_set_price', { stock_code: String(stockCode),
      last_price: Number(lastPrice), pre_close: Number(preClose), liquidity: Number(liquidity) });
  }

  async simTick(stockCode = '', lastPrice = 0) {
    return this.call('sim_tick', { stock_code: String(stockCode), last_price: Number(lastPrice) });
  }

  async simNextDay() { return this.call('sim_next_day', {}); }

  async simSetAccountStatus(account, status) {
    return this.call('sim_set_account_status', { account: toAccount(account),
      status: Number(status) });
  }
}
