/** A module and what it imports, as paths from the repository root (src/...). */
export interface ModuleImports {
  source: string;
  imports: string[];
}

export interface FolderCycle {
  folders: string[];
  /** One import for each step of the circle. */
  evidence: string[];
}

/** The composition roots see every domain by design; they take part in no folder's imports. */
const ROOTS = /^src\/(app|server|main)\.ts$|^src\/background\/index\.ts$|^src\/cli\//;

/** The top-level folder of src/ a module belongs to; files directly in src/ are leaves and roots, not folders. */
export function folderOf(file: string): string | undefined {
  const match = /^src\/([^/]+)\//.exec(file);
  return match ? match[1] : undefined;
}

/**
 * Circles among the top-level folders of src/ (a -> b -> ... -> a), found
 * by a depth-first search of the folder graph; each circle is reported once,
 * with one import that makes each step.
 */
export function folderCycles(modules: readonly ModuleImports[]): FolderCycle[] {
  const edges = new Map<string, Map<string, string>>();
  for (const { source, imports } of modules) {
    const from = folderOf(source);
    if (!from || ROOTS.test(source)) continue;
    for (const target of imports) {
      const to = folderOf(target);
      if (!to || to === from || ROOTS.test(target)) continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${source} -> ${target}`);
      edges.set(from, out);
    }
  }
  const cycles: FolderCycle[] = [];
  const seen = new Set<string>();
  const visit = (folder: string, trail: string[]) => {
    for (const next of edges.get(folder)?.keys() ?? []) {
      const at = trail.indexOf(next);
      if (at >= 0) {
        const folders = [...trail.slice(at), next];
        const key = [...folders.slice(0, -1)].sort().join(',');
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push({ folders, evidence: folders.slice(0, -1).map((f, i) => edges.get(f)!.get(folders[i + 1]!)!) });
        }
      } else {
        visit(next, [...trail, next]);
      }
    }
  };
  for (const folder of edges.keys()) visit(folder, [folder]);
  return cycles;
}
