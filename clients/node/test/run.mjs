// `npm test`: every test/*.test.mjs, one file at a time (they start bridges and time
// heartbeats; in parallel on a small machine they would only slow each other down), TAP on
// stdout, exit status 1 when any test failed. The run() API, not `node --test
// --test-concurrency`, because Debian 12's Node 18 has no such flag.
import fs from 'node:fs';
import path from 'node:path';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = fs.readdirSync(here).filter((f) => f.endsWith('.test.mjs'))
  .filter((f) => !only.length || only.some((o) => f.includes(o))).sort()
  .map((f) => path.join(here, f));
const stream = run({ files, concurrency: 1 });
let failures = 0;
stream.on('test:fail', (data) => {
  // a failing suite reports its failing tests too: count the tests, not their parents
  if (data.details && data.details.type !== 'suite') failures += 1;
});
stream.on('end', () => {
  console.log(`# node suites: ${files.length} files, ${failures} failed tests`);
  if (failures) process.exitCode = 1;
});
stream.compose(tap).pipe(process.stdout);
