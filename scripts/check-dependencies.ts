// The layer check of CI: dependency-cruiser's rules (.dependency-cruiser.cjs:
// no module cycles, http/ db/ auth/ and the leaves never import a domain, only
// composition roots import roots), then the one rule it cannot state: the
// folders of src/ must not import each other in a circle either.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { folderCycles, type ModuleImports } from './folder-cycles';

const root = path.resolve(__dirname, '..');
const depcruise = path.join(root, 'node_modules', '.bin', 'depcruise');

// The rules, reported as dependency-cruiser words them; a violation exits non-zero.
execFileSync(depcruise, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: root, stdio: 'inherit' });

const graph = JSON.parse(
  execFileSync(depcruise, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { cwd: root, maxBuffer: 64 * 1024 * 1024 }).toString(),
) as { modules: Array<{ source: string; dependencies: Array<{ resolved: string }> }> };
const modules: ModuleImports[] = graph.modules.map((m) => ({ source: m.source, imports: m.dependencies.map((d) => d.resolved) }));
const cycles = folderCycles(modules);
if (cycles.length > 0) {
  for (const cycle of cycles) console.error(`folder cycle: ${cycle.folders.join(' -> ')}\n  ${cycle.evidence.join('\n  ')}`);
  process.exit(1);
}
console.log('no folder of src/ imports another in a circle');
