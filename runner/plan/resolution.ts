// What a module's import resolution looked at. esbuild resolves `./helper` by trying `helper`, `helper.tsx`,
// `helper.ts`, `helper.jsx`, `helper.js`, … (then `helper/package.json`, `helper/index.*`), and `./x.js` as `x.js`,
// `x.js.tsx`, …, then `x.ts`, `x.tsx`; a package by its `node_modules` folder in each folder upwards. The files it
// picked are the closure (code.ts); the ones it tried before them are negative lookups, recorded here with what
// they were (missing, a folder), as ninja's deps log and Bazel's resolver record them: creating `helper.ts` beside
// `helper.js` changes what `./helper` means, so the recorded closure no longer stands and is read again.
//
// esbuild reports only what it picked (its metafile, with each import as written), so its order is reproduced here
// (internal/resolver/resolver.go, v0.28: loadAsFile, loadAsDirectory, loadAsMainField, loadNodeModules) for the
// imports of the workspace's own files, and checked: the reproduction must pick the file esbuild picked, else the
// import is "not followed" and the module's closure is read again on every run. The files that took part in a
// resolution without being picked (a local folder's package.json, a package's package.json) are returned too; and
// every tsconfig.json, jsconfig.json and package.json in the folders above the module's files (esbuild reads their
// `paths`, `baseUrl`, `imports`) is recorded by content, so creating or editing one reads the closure again.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

/** What a path was when the resolution looked at it: missing, a folder, something else; a file by its hash. */
export type ProbeKind = '-' | 'd' | 'o' | 'f';

/** The paths a resolution looked at and did not pick, with their kind (never 'f'); the config files read. */
export interface Resolution {
  /** Path → what it was ('-', 'd', 'o'): creating a file there may change what an import resolves to. */
  negatives: Map<string, ProbeKind>;
  /** Files whose content steered a resolution to a workspace file (a local folder's package.json): code. */
  steering: Set<string>;
  /** package.json files of packages whose entry was resolved: an edit may change the bundled entry. */
  packageJsons: Set<string>;
  /** Config files esbuild reads in the folders above the module's files (tsconfig.json, jsconfig.json, package.json). */
  configs: Set<string>;
  /** Imports whose resolution could not be reproduced (`file: "specifier"`), if any. */
  unfollowed: string[];
}

export interface MetaImport {
  path: string;
  kind: string;
  external?: boolean;
  original?: string;
}

/** esbuild's default resolve extensions, and their order for imports inside node_modules (JS before TypeScript). */
const EXTENSIONS = ['.tsx', '.ts', '.jsx', '.js', '.css', '.json'];
const IN_NODE_MODULES = ['.jsx', '.js', '.tsx', '.ts', '.css', '.json'];
/** TypeScript's rewriting: `./x.js` may be `x.ts`. */
const REWRITTEN: [string, string[]][] = [
  ['.js', ['.ts', '.tsx']],
  ['.jsx', ['.ts', '.tsx']],
  ['.mjs', ['.mts']],
  ['.cjs', ['.cts']],
];
const CONFIG_FILES = ['tsconfig.json', 'jsconfig.json', 'package.json'];

/** The kind of a path, symlinks followed; anything unreadable counts as missing (esbuild skips it too). */
export function kindOf(abs: string): ProbeKind {
  try {
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) return '-';
    return st.isFile() ? 'f' : st.isDirectory() ? 'd' : 'o';
  } catch {
    return '-';
  }
}

const inNodeModules = (abs: string) => abs.split(path.sep).includes('node_modules');
const isPackagePath = (p: string) => !(p.startsWith('/') || p.startsWith('./') || p.startsWith('../') || p === '.' || p === '..');

/** A package specifier's name (`@scope/name/sub` → `@scope/name`). */
function packageNameOf(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

class Resolver {
  readonly looked = new Map<string, ProbeKind>();
  readonly read = new Set<string>();

  look(abs: string): ProbeKind {
    let kind = this.looked.get(abs);
    if (kind === undefined) {
      kind = kindOf(abs);
      this.looked.set(abs, kind);
    }
    return kind;
  }

  private firstFile(candidates: string[]): string | undefined {
    return candidates.find((c) => this.look(c) === 'f');
  }

  file(abs: string, exts: string[]): string | undefined {
    const dir = path.dirname(abs);
    const base = path.basename(abs);
    const names = [base, ...exts.map((e) => base + e)];
    const rewrite = REWRITTEN.find(([old]) => base.endsWith(old));
    if (rewrite) names.push(...rewrite[1].map((e) => base.slice(0, base.lastIndexOf('.')) + e));
    return this.firstFile(names.map((n) => path.join(dir, n)));
  }

  index(dir: string, exts: string[]): string | undefined {
    return this.firstFile(exts.map((e) => path.join(dir, `index${e}`)));
  }

  /** The package.json of a folder, parsed, when it is a file (and recorded as read). */
  packageJson(dir: string): Record<string, unknown> | undefined {
    const file = path.join(dir, 'package.json');
    if (this.look(file) !== 'f') return undefined;
    this.read.add(file);
    try {
      const data = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  directory(abs: string, exts: string[], require: boolean): string | undefined {
    if (this.look(abs) !== 'd') return undefined;
    const pkg = this.packageJson(abs);
    const field = (name: string) => {
      const value = pkg?.[name];
      return typeof value === 'string' ? value : undefined;
    };
    const main = field('main');
    const viaField = (rel: string) => {
      const target = path.join(abs, rel);
      return this.file(target, exts) ?? (this.look(target) === 'd' ? this.index(target, exts) : undefined);
    };
    // Node's main fields are `main`, then `module`; with `module` alone, a `require` takes the folder's index.
    const fromMain = main !== undefined ? viaField(main) : undefined;
    if (fromMain) return fromMain;
    const module = field('module');
    const fromModule = module !== undefined ? viaField(module) : undefined;
    if (fromModule) {
      const index = main === undefined ? this.index(abs, exts) : undefined;
      return require && index ? index : fromModule;
    }
    return this.index(abs, exts);
  }

  fileOrDirectory(abs: string, require: boolean): string | undefined {
    const exts = inNodeModules(abs) ? IN_NODE_MODULES : EXTENSIONS;
    return this.file(abs, exts) ?? this.directory(abs, exts, require);
  }

  /** A relative or absolute specifier from a folder. */
  relative(fromDir: string, spec: string, require: boolean): string | undefined {
    const abs = path.resolve(fromDir, spec);
    const slash = spec === '.' || spec === '..' || spec.endsWith('/') || spec.endsWith('/.') || spec.endsWith('/..');
    if (slash) return this.directory(abs, inNodeModules(abs) ? IN_NODE_MODULES : EXTENSIONS, require);
    return this.fileOrDirectory(abs, require);
  }

  /**
   * A package specifier, searched in the node_modules folder of each folder upwards. A package with an `exports`
   * map resolves inside its folder by that map (read, not reproduced): the answer is the folder.
   */
  bare(fromDir: string, spec: string, require: boolean): { file: string } | { within: string } | undefined {
    const name = packageNameOf(spec);
    for (let dir = fromDir; ; dir = path.dirname(dir)) {
      if (path.basename(dir) !== 'node_modules') {
        const modules = path.join(dir, 'node_modules');
        if (this.look(modules) === 'd') {
          const pkgDir = path.join(modules, name);
          if (this.look(pkgDir) === 'd' && this.packageJson(pkgDir)?.exports !== undefined) return { within: pkgDir };
          const file = this.fileOrDirectory(path.join(modules, spec), require);
          if (file) return { file };
        }
      }
      if (path.dirname(dir) === dir) return undefined;
    }
  }
}

function real(abs: string): string {
  try {
    return realpathSync.native(abs);
  } catch {
    return abs;
  }
}

/**
 * The negative lookups and config files of the imports of these workspace files (the module's own, not its
 * packages': `reached` are metafile inputs, paths relative to `root`), and of its entry (`entry`, the absolute
 * path esbuild was given).
 */
export function resolutionOf(root: string, inputs: Record<string, { imports: MetaImport[] }>, reached: Iterable<string>, entry: { abs: string; input: string | undefined }): Resolution {
  const r = new Resolver();
  const steering = new Set<string>();
  const packageJsons = new Set<string>();
  const unfollowed: string[] = [];
  const local = new Set<string>();
  // Each resolution on its own: its files read are sorted into code (it picked a workspace file) or package.
  const resolve = (picked: string, run: () => string | { within: string } | undefined): boolean => {
    r.read.clear();
    const found = run();
    const ok = typeof found === 'string' ? real(found) === picked : found !== undefined && picked.startsWith(real(found.within) + path.sep);
    for (const f of r.read) {
      if (inNodeModules(picked)) packageJsons.add(f);
      else steering.add(real(f));
    }
    return ok;
  };
  if (entry.input !== undefined && !resolve(path.resolve(root, entry.input), () => r.fileOrDirectory(entry.abs, false))) unfollowed.push(`${entry.abs}`);
  for (const input of reached) {
    const abs = path.resolve(root, input);
    if (inNodeModules(abs)) continue;
    local.add(path.dirname(abs));
    for (const imp of inputs[input]?.imports ?? []) {
      if (imp.external) continue;
      const spec = imp.original;
      const picked = path.resolve(root, imp.path);
      const require = imp.kind === 'require-call' || imp.kind === 'require-resolve';
      const reproducible = spec !== undefined && (imp.kind === 'import-statement' || imp.kind === 'dynamic-import' || require);
      const from = path.dirname(abs);
      const ok =
        reproducible &&
        resolve(picked, () => {
          if (!isPackagePath(spec)) return r.relative(from, spec, require);
          const found = r.bare(from, spec, require);
          return found && 'file' in found ? found.file : found;
        });
      if (!ok) unfollowed.push(`${input}: ${JSON.stringify(spec ?? imp.path)}`);
    }
  }
  const configs = new Set<string>();
  for (const dir of local) {
    for (let d = dir; ; d = path.dirname(d)) {
      for (const name of CONFIG_FILES) configs.add(path.join(d, name));
      if (path.dirname(d) === d) break;
    }
  }
  const negatives = new Map<string, ProbeKind>();
  for (const [p, kind] of r.looked) if (kind !== 'f') negatives.set(p, kind);
  for (const c of configs) negatives.delete(c);
  return { negatives, steering, packageJsons, configs, unfollowed };
}
