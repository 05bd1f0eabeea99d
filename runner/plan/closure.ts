// A module's closure, read from esbuild's metafile: every file it reaches from its entry, the code among them (the
// workspace's own files and files outside it, never node_modules: packages count by version), the packages it uses,
// and what resolving its imports looked at without picking it (resolution.ts).
import path from 'node:path';
import { packageName, packageOf } from './packages.js';
import { kindOf, resolutionOf, type MetaImport, type ProbeKind } from './resolution.js';

export interface ModuleClosure {
  /** The code: the module first, then the other files sorted (workspace-relative, or `../`, or absolute). */
  files: string[];
  /** The packages its code uses: name → the folder its version is read from ('' for one kept as an import). */
  packages: Record<string, string>;
  /** The package files bundled into it, and the package.json files that named their entries. */
  packageFiles: string[];
  /** What its resolution tried and did not pick: key → kind. */
  negatives: Record<string, ProbeKind>;
  /** The config files above its files (recorded by content). */
  configs: string[];
  /** Imports whose resolution is not reproduced. */
  unfollowed: string[];
}

type MetaInputs = Record<string, { imports: MetaImport[] }>;

/** A path as the index keeps it: workspace-relative with forward slashes when inside, else absolute. */
export function keyOf(root: string, abs: string): string {
  const rel = path.relative(root, abs);
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel.split(path.sep).join('/');
}

/**
 * One module's part of a (batch) build, from the metafile's import graph: every file it reaches from its entry,
 * the code among them (the workspace's own files and those outside it, never node_modules), the packages it uses,
 * and what resolving its imports looked at.
 */
export function closureOf(root: string, inputs: MetaInputs, modulePath: string): ModuleClosure {
  const entry = Object.keys(inputs).find((p) => path.resolve(root, p) === path.join(root, modulePath));
  const reached = new Set<string>();
  const packages: Record<string, string> = {};
  const queue = entry ? [entry] : [];
  while (queue.length) {
    const input = queue.pop()!;
    if (reached.has(input)) continue;
    reached.add(input);
    for (const imp of inputs[input]?.imports ?? []) {
      const name = imp.external ? packageName(imp.path) : undefined;
      if (!imp.external) queue.push(imp.path);
      else if (name !== undefined) packages[name] = '';
    }
  }
  const resolution = resolutionOf(root, inputs, reached, { abs: path.join(root, modulePath), input: entry });
  const all = [...reached].map((p) => p.split(path.sep).join('/'));
  const code = new Set(all.filter((p) => !p.includes('node_modules/')));
  for (const f of resolution.steering) code.add(keyOf(root, f));
  // An import not followed (tsconfig `paths`, package.json `imports`, …) may be steered by any config file above
  // the module's files: they count as its code, so editing one re-runs it.
  if (resolution.unfollowed.length > 0) for (const c of resolution.configs) if (kindOf(c) === 'f') code.add(keyOf(root, c));
  const packageFiles: string[] = [];
  for (const input of all) {
    const pkg = packageOf(input);
    if (!pkg) continue;
    packageFiles.push(input);
    if (pkg.name !== 'pipeline-dag') packages[pkg.name] = pkg.folder;
  }
  for (const f of resolution.packageJsons) packageFiles.push(keyOf(root, f));
  packageFiles.sort();
  const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const negatives: Record<string, ProbeKind> = {};
  for (const [abs, kind] of resolution.negatives) negatives[keyOf(root, abs)] = kind;
  return {
    // The entry first, then the rest sorted: a stable order for the index.
    files: [modulePath, ...[...code].filter((p) => p !== modulePath).sort()],
    packages: sorted,
    packageFiles,
    negatives,
    configs: [...resolution.configs].map((c) => keyOf(root, c)).sort(),
    unfollowed: resolution.unfollowed,
  };
}

