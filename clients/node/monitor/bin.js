#!/usr/bin/env node
// xtbridge-monitor: serve the live monitor of one bridge.
//   node clients/node/monitor/bin.js [--router EP] [--pub EP] [--port N] [--host H]
//                                    [--accounts A,B] [--curve-cert F --curve-server F]
// The page is at http://HOST:PORT/, the metrics at /metrics (Prometheus text format).
import { startMonitor } from './monitor.js';

const args = process.argv.slice(2);
const opts = { endpoint: process.env.XTBRIDGE_ENDPOINT, port: 8080 };
const usage = 'usage: bin.js [--router EP] [--pub EP] [--port N] [--host H] [--accounts A,B] ' +
  '[--curve-cert F --curve-server F]';
for (let i = 0; i < args.length; i++) {
  const [flag, value] = [args[i], args[i + 1]];
  if (value === undefined) { console.error(usage); process.exit(1); }
  i++;
  if (flag === '--router') opts.endpoint = value;
  else if (flag === '--pub') opts.pubEndpoint = value;
  else if (flag === '--port') opts.port = Number(value);
  else if (flag === '--host') opts.host = value;
  else if (flag === '--accounts') opts.accounts = value.split(',');
  else if (flag === '--curve-cert') opts.curve = { ...opts.curve, cert: value };
  else if (flag === '--curve-server') opts.curve = { ...opts.curve, server: value };
  else { console.error(`unknown option ${flag}\n${usage}`); process.exit(1); }
}
try {
  const monitor = await startMonitor(opts);
  console.log(`xtbridge monitor on ${monitor.url} (metrics: ${monitor.url}/metrics)`);
  const stop = async () => { await monitor.close(); process.exit(0); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (e) {
  console.error(`xtbridge-monitor: ${e.message}`);
  process.exit(2);
}
