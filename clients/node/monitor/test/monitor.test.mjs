// The live monitor end to end: the real bridge (../../test/helpers.mjs), the monitor on a free
// port, Debian's Chromium headless driven over the DevTools protocol (a WebSocket, no
// browser library), orders placed by another client: they must appear on the page, the
// fill in the fills table, the counters in /metrics. A screenshot is written next to the
// test data ($XTB_MONITOR_SCREENSHOT, when set, gets a copy: how docs/monitor.png is made).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { Trader } from '../../lib/index.js';
import { ACC, Bridge, CODE, place } from '../../test/helpers.mjs';
import { startMonitor } from '../monitor.js';

const CHROMIUM = process.env.XTB_CHROMIUM || '/usr/bin/chromium';

async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

// Chromium with a DevTools port; resolves with {proc, cdp(method, params), close()}.
async function browser(dir, url) {
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (Debian package chromium)`);
  const profile = path.join(dir, 'chromium');
  const proc = spawn(CHROMIUM, ['--headless=new', '--no-sandbox', '--disable-gpu',
    '--no-first-run', '--disable-dev-shm-usage', '--window-size=1280,900',
    `--user-data-dir=${profile}`, '--remote-debugging-port=0', url],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const port = await until('the DevTools port', () => {
    try {
      return fs.readFileSync(path.join(profile, 'DevToolsActivePort'), 'utf8').split('\n')[0];
    } catch { return null; }
  });
  const page = await until('the page target', async () => {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    return list.find((t) => t.type === 'page' && t.url.startsWith(url));
  });
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  let id = 0;
  const waiting = new Map();
  ws.on('message', (m) => {
    const msg = JSON.parse(m);
    if (msg.id && waiting.has(msg.id)) {
      waiting.get(msg.id)(msg);
      waiting.delete(msg.id);
    }
  });
  const cdp = (method, params = {}) => new Promise((resolve, reject) => {
    id += 1;
    waiting.set(id, (msg) => (msg.error ? reject(new Error(JSON.stringify(msg.error)))
      : resolve(msg.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });
  return {
    cdp,
    // the value of a page expression (JSON-able)
    async eval(expression) {
      const r = await cdp('Runtime.evaluate', { expression, returnByValue: true });
      return r.result.value;
    },
    stderr: () => stderr,
    async close() {
      ws.close();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

test('orders, fills and stats appear on the monitor page and in /metrics', { timeout: 120000 },
  async () => {
    const where = place('monitor');
    const bridge = new Bridge(where);
    await bridge.start();
    const monitor = await startMonitor({ endpoint: bridge.router, port: 0, statsMs: 200,
      logger: () => {} });
    const page = await browser(where.dir, monitor.url);
    const trader = new Trader({ endpoint: bridge.router, logger: () => {} });
    try {
      await until('the page to go live', () => page.eval(
        "document.querySelector('#status').textContent === 'live'"));
      await trader.connect();
      // two orders that rest (600000.SH trades at 10.60) and one that fills at once
      const resting = [await trader.orderStock(ACC, CODE, 23, 100, 11, 10.0, 'mon', 'rest-1'),
        await trader.orderStock(ACC, CODE, 23, 200, 11, 10.1, 'mon', 'rest-2')];
      const filled = await trader.orderStock(ACC, CODE, 23, 300, 11, 10.7, 'mon', 'fill-1');
      for (const id of [...resting, filled]) {
        await until(`order ${id} on the page`, () => page.eval(
          `!!document.querySelector('#orders tr[data-key="${ACC}/${id}"]')`));
      }
      const row = (id) => page.eval(`[...document.querySelectorAll(
        '#orders tr[data-key="${ACC}/${id}"] td')].map((td) => td.textContent)`);
      assert.deepEqual(await row(resting[0]),
        [ACC, String(resting[0]), CODE, 'buy', '100', '10.00', '0', 'reported', 'rest-1']);
      await until('the fill on the page', async () => {
        const cells = await row(filled);
        return cells[7] === 'traded' && cells[6] === '300';
      });
      const fills = await until('one fill row', () => page.eval(`[...document.querySelectorAll(
        '#trades tbody tr')].map((tr) => [...tr.children].map((td) => td.textContent))`));
      assert.equal(fills.length, 1);
      assert.deepEqual([fills[0][0], fills[0][2], fills[0][3], fills[0][4], fills[0][5],
        fills[0][6]], [ACC, String(filled), CODE, '300', '10.60', '3180.00']);
      await until('the position', () => page.eval(
        `!!document.querySelector('#positions tr[data-key="${ACC}/${CODE}"]')`));
      await until('requests counted on the page', () => page.eval(`(() => {
        const tr = document.querySelector('#stats tr[data-key="requests"]');
        return tr && Number(tr.children[1].textContent) > 0; })()`));
      // two open orders in the accounts table
      await until('open orders = 2', () => page.eval(
        `document.querySelector('#assets tr[data-key="${ACC}"]').children[5].textContent === '2'`));

      const metrics = await (await fetch(`${monitor.url}/metrics`)).text();
      assert.match(metrics, new RegExp(`xtbridge_trades_total\\{account="${ACC}"\\} 1\\n`));
      assert.match(metrics, new RegExp(`xtbridge_open_orders\\{account="${ACC}"\\} 2\\n`));
      assert.match(metrics, new RegExp(`xtbridge_traded_amount_total\\{account="${ACC}"\\} 3180\\n`));
      assert.match(metrics, /xtbridge_up 1\n/);
      assert.match(metrics, /xtbridge_monitor_websocket_clients 1\n/);
      assert.match(metrics, /xtbridge_bridge\{counter="requests"\} [1-9]/);

      const shot = await page.cdp('Page.captureScreenshot', { format: 'png' });
      const png = Buffer.from(shot.data, 'base64');
      assert.ok(png.length > 10000, `screenshot of ${png.length} bytes`);
      fs.writeFileSync(path.join(where.dir, 'monitor.png'), png);
      if (process.env.XTB_MONITOR_SCREENSHOT) {
        fs.writeFileSync(process.env.XTB_MONITOR_SCREENSHOT, png);
      }
    } finally {
      await trader.close();
      await page.close();
      await monitor.close();
      await bridge.stop();
    }
  });
