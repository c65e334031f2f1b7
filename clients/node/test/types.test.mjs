// The TypeScript declarations (lib/index.d.ts + lib/messages.d.ts generated from the proto)
// compile with tsc --strict (test/tsconfig.json), and a typed use of the client (test/usage.ts) checks. They
// stand alone (no @types/node), which keeps this check a few seconds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

test('index.d.ts and a typed use of it compile with tsc --strict', () => {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'test/tsconfig.json'],
    { cwd: root, encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
});
