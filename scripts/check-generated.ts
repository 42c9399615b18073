// Fails when src/generated/openapi.ts is not what `npm run generate` makes from the contract now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '..');
const committed = path.join(root, 'src', 'generated', 'openapi.ts');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'generated-'));
const fresh = path.join(scratch, 'openapi.ts');
try {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js'), 'openapi/openapi.yaml', '-o', fresh], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
    console.error('src/generated/openapi.ts is stale: run `npm run generate` and commit the result.');
    process.exit(1);
  }
  console.log('generated types are in sync with openapi/openapi.yaml');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
