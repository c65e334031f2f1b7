// monitor.js - a live monitor of one xtbridge, for the people watching it: a small web page
// (orders, fills, positions, cash, bridge counters) that updates over a WebSocket as pushes
// arrive, and Prometheus metrics at /metrics for the dashboards that watch it.
//
// It is an ordinary client of the bus: a Trader (../lib) subscribes to every account the
// bridge lists, loads each account's book with the xtquant queries, then applies the pushes
// (which the Trader already delivers once and in order, replaying gaps), and polls `stats`
// every statsMs. Everything the page shows comes from one state object; a browser that
// connects gets it whole, then each change as it happens. Read-only: it places no orders.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import client from 'prom-client';
import { WebSocketServer } from 'ws';
import { Trader } from '../lib/index.js';

const PAGE = fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'page.html'),
  'utf8');
// Order statuses still working at the exchange (xtconstant: unreported, wait reporting,
// reported, partly traded); 51/52 are cancels on their way.
const OPEN = new Set([48, 49, 50, 55]);

function metricsOf(registry) {
  const labels = ['account'];
  return {
    pushes: new client.Counter({ name: 'xtbridge_pushes_total', help: 'Pushes received, by kind',
      labelNames: ['kind', 'account'], registers: [registry] }),
    trades: new client.Counter({ name: 'xtbridge_trades_total', help: 'Fills received',
      labelNames: labels, registers: [registry] }),
    tradedAmount: new client.Counter({ name: 'xtbridge_traded_amount_total',
      help: 'Traded amount of the fills received (CNY)', labelNames: labels,
      registers: [registry] }),
    openOrders: new client.Gauge({ name: 'xtbridge_open_orders', help: 'Orders still working',
      labelNames: labels, registers: [registry] }),
    cash: new client.Gauge({ name: 'xtbridge_cash', help: 'Available cash (CNY)',
      labelNames: labels, registers: [registry] }),
    frozen: new client.Gauge({ name: 'xtbridge_frozen_cash', help: 'Frozen cash (CNY)',
      labelNames: labels, registers: [registry] }),
    totalAsset: new client.Gauge({ name: 'xtbridge_total_asset', help: 'Total asset (CNY)',
      labelNames: labels, registers: [registry] }),
    bridge: new client.Gauge({ name: 'xtbridge_bridge', help: 'The bridge\'s stats counters',
      labelNames: ['counter'], registers: [registry] }),
    up: new client.Gauge({ name: 'xtbridge_up',
      help: '1 while the bridge answers and its heartbeats arrive', registers: [registry] }),
    viewers: new client.Gauge({ name: 'xtbridge_monitor_websocket_clients',
      help: 'Browsers connected to the monitor', registers: [registry] }),
  };
}

/**
 * Starts the monitor. Options: endpoint (the bridge's ROUTER), pubEndpoint, curve (as for
 * Trader), host (127.0.0.1), port (8080; 0 = any free one), statsMs (1000), accounts
 * (default: every account the bridge lists). Resolves with {url, port, state, close()}.
 */
export async function startMonitor(opts = {}) {
  const trader = new Trader({ endpoint: opts.endpoint, pubEndpoint: opts.pubEndpoint,
    curve: opts.curve, clientName: 'xtbridge-monitor', logger: opts.logger });
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'xtbridge_monitor_' });
  const m = metricsOf(registry);
  const state = { bridge: {}, up: false, stats: null, accounts: {} };
  const sockets = new Set();

  function broadcast(type, data) {
    const text = JSON.stringify({ type, data });
    for (const ws of sockets) if (ws.readyState === 1) ws.send(text);
  }
  function account(id) {
    if (!state.accounts[id]) {
      state.accounts[id] = { asset: null, status: null, orders: {}, trades: {}, positions: {} };
    }
    return state.accounts[id];
  }
  function countOpen(id) {
    const open = Object.values(account(id).orders).filter((o) => OPEN.has(o.order_status));
    m.openOrders.set({ account: id }, open.length);
  }
  function setAsset(id, asset) {
    account(id).asset = asset;
    m.cash.set({ account: id }, asset.cash);
    m.frozen.set({ account: id }, asset.frozen_cash);
    m.totalAsset.set({ account: id }, asset.total_asset);
  }
  const apply = {
    stock_order(o) {
      account(o.account_id).orders[o.order_id] = o;
      countOpen(o.account_id);
    },
    stock_trade(t) {
      const a = account(t.account_id);
      if (a.trades[t.traded_id]) return false; // already in the loaded book
      a.trades[t.traded_id] = t;
      m.trades.inc({ account: t.account_id });
      m.tradedAmount.inc({ account: t.account_id }, t.traded_amount);
      return true;
    },
    stock_position(p) { account(p.account_id).positions[p.stock_code] = p; },
    stock_asset(a) { setAsset(a.account_id, a); },
    account_status(s) { account(s.account_id).status = s; },
  };
  for (const [event, fn] of Object.entries(apply)) {
    trader.on(event, (body, meta) => {
      m.pushes.inc({ kind: meta && meta.topic ? meta.topic.split('.')[0] : event,
        account: body.account_id || '' });
      if (fn(body) !== false) broadcast(event, body);
    });
  }
  const setUp = (up) => {
    state.up = up;
    m.up.set(up ? 1 : 0);
    broadcast('up', up);
  };
  trader.on('disconnected', () => setUp(false));
  trader.on('connected', () => setUp(true));

  const hello = await trader.connect();
  state.bridge = { version: hello.bridge_version, backend: hello.backend,
    instance_id: hello.instance_id, epoch: hello.bridge_epoch };
  const ids = opts.accounts || (await trader.queryAccountInfos()).map((a) => a.account_id);
  for (const id of ids) {
    await trader.subscribe(id);
    const a = account(id);
    // the book as it is now; pushes from here on are applied on top of it
    for (const o of await trader.queryStockOrders(id)) a.orders[o.order_id] = o;
    for (const t of await trader.queryStockTrades(id)) a.trades[t.traded_id] = t;
    for (const p of await trader.queryStockPositions(id)) a.positions[p.stock_code] = p;
    const asset = await trader.queryStockAsset(id);
    if (asset) setAsset(id, asset);
    countOpen(id);
  }
  setUp(true);

  async function pollStats() {
    try {
      const s = await trader.call('stats', {}, { timeoutMs: 2000 });
      state.stats = s;
      for (const key of ['requests', 'replies', 'malformed', 'dropped', 'events_published',
        'idempotent_hits', 'commits', 'commit_failures', 'journal_events', 'uptime_ms']) {
        m.bridge.set({ counter: key }, Number(s[key] || 0));
      }
      m.bridge.set({ counter: 'degraded' }, s.degraded ? 1 : 0);
      m.bridge.set({ counter: 'backend_connected' }, s.backend_connected ? 1 : 0);
      broadcast('stats', s);
    } catch (e) {
      state.stats = null; // the page shows the bridge as not answering
      broadcast('stats', null);
    }
  }
  await pollStats();
  const timer = setInterval(pollStats, opts.statsMs ?? 1000);

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://monitor');
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (req.method === 'GET' && url.pathname === '/state') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state));
    } else if (req.method === 'GET' && url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: the monitor serves /, /state, /metrics and the WebSocket /ws\n');
    }
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => {
    sockets.add(ws);
    m.viewers.set(sockets.size);
    ws.send(JSON.stringify({ type: 'snapshot', data: state }));
    ws.on('close', () => {
      sockets.delete(ws);
      m.viewers.set(sockets.size);
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8080, opts.host || '127.0.0.1', resolve);
  });
  const port = server.address().port;
  return {
    url: `http://${opts.host || '127.0.0.1'}:${port}`,
    port,
    state,
    async close() {
      clearInterval(timer);
      for (const ws of sockets) ws.terminate();
      await new Promise((resolve) => wss.close(() => server.close(() => resolve())));
      await trader.close();
    },
  };
}
