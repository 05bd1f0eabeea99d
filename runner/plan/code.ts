// The code of a `module:` stage: the module file and every local module it imports, transitively.
// esbuild bundles the module into .pipeline/build/<hash>.mjs, packages external (the engine's own public modules,
// `pipeline-dag/...`, included); its metafile is the exact import closure, remembered per module so an unchanged
// closure is re-checked by stat alone.
//
// Results travel between machines (a remote cache), so a module stage's code also names its toolchain: the Node
// major version, the platform, and the resolved version of every package its code imports (from the metafile's
// external imports, versions read from the installed package.json). These are entries of the same map, keyed
// `toolchain:node`, `toolchain:platform` and `package:<name>`, so a result made by another toolchain has another
// fingerprint and is never restored, and `status` names what differs.
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { canonicalJson, hashBytes } from '../store/hash.js';
import type { Workspace } from '../store/workspace.js';
import { UsageError } from '../core/errors.js';

/** The engine's own package name and its subpaths, kept external however the workspace resolves them. */
const ENGINE_PACKAGE = ['pipeline-dag', 'pipeline-dag/*'];

interface ClosureIndex {
  /** Bumped when the bundling rules change, so every closure is read again (4: packages imported are kept). */
  version: 4;
  /** module → (file → hash) as last bundled. */
  modules: Record<string, Record<string, string>>;
  /** module → the packages its closure imports (bare names, the engine's own excluded), as last bundled. */
  packages: Record<string, string[]>;
}

/** The bare package name of an import specifier (`@scope/name/sub` → `@scope/name`), or undefined for builtins. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  if (BUILTINS.has(name) || name === 'pipeline-dag') return undefined;
  return name;
}

const BUILTINS = new Set(builtinModules);

/** The toolchain part of a module stage's code: Node major, platform, and each imported package's version. */
export function toolchainOf(root: string, packages: string[], versions = new Map<string, string>()): Record<string, string> {
  const out: Record<string, string> = {
    'toolchain:node': `v${process.versions.node.split('.')[0]}`,
    'toolchain:platform': `${process.platform}-${process.arch}`,
  };
  for (const name of packages) {
    let version = versions.get(name);
    if (version === undefined) {
      version = installedVersion(root, name);
      versions.set(name, version);
    }
    out[`package:${name}`] = version;
  }
  return out;
}

/** The version of a package as Node would resolve it from the workspace (node_modules upwards), or `missing`. */
function installedVersion(root: string, name: string): string {
  for (let dir = root; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'node_modules', name, 'package.json');
    if (existsSync(file)) {
      try {
        const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
        return typeof version === 'string' ? version : 'unknown';
      } catch {
        return 'unreadable';
      }
    }
    if (path.dirname(dir) === dir) return 'missing';
  }
}

export class ModuleCode {
  private index: ClosureIndex = { version: 4, modules: {}, packages: {} };
  private readonly versions = new Map<string, string>();
  private dirty = false;

  constructor(
    private readonly ws: Workspace,
    private readonly stateDir: string,
  ) {
    const file = this.indexFile;
    if (existsSync(file)) {
      try {
        const data = JSON.parse(readFileSync(file, 'utf8')) as ClosureIndex;
        if (data.version === 4) this.index = data;
      } catch {
        // rebuilt on demand
      }
    }
  }

  private get indexFile(): string {
    return path.join(this.stateDir, 'modules.json');
  }

  /**
   * Workspace-relative file → content hash, for the module and everything it imports locally. The closure can
   * only change when one of its files changes, so when every recorded file still has its recorded hash the
   * recorded closure stands; otherwise esbuild reads the imports again. The toolchain entries are added to it.
   */
  async closure(modulePath: string): Promise<Record<string, string>> {
    const known = this.index.modules[modulePath];
    const knownPackages = this.index.packages[modulePath];
    if (known && knownPackages) {
      const hashes = await this.hashAll(Object.keys(known));
      if (hashes && Object.keys(hashes).every((f) => hashes[f] === known[f])) return { ...hashes, ...toolchainOf(this.ws.root, knownPackages, this.versions) };
    }
    const { files, packages, contents } = await this.bundle(modulePath, undefined);
    const hashes = await this.hashAll(files);
    if (!hashes) throw new UsageError(`the imports of \`${modulePath}\` changed while they were being read`, 'run again');
    const code = { ...hashes, ...toolchainOf(this.ws.root, packages, this.versions) };
    this.built.set(modulePath, { key: canonicalJson(code), contents });
    this.index.modules[modulePath] = hashes;
    this.index.packages[modulePath] = packages;
    this.dirty = true;
    return code;
  }

  /** Hashes of the files, or undefined when one is gone. */
  private async hashAll(files: string[]): Promise<Record<string, string> | undefined> {
    const hashes: Record<string, string> = {};
    for (const f of files) {
      const rec = await this.ws.hashOut(f, 'module').catch(() => undefined);
      if (!rec || rec.type !== 'file') return undefined;
      hashes[f] = rec.hash;
    }
    return hashes;
  }

  /** The bundle to run for this exact code: written from the build that read the closure, or built when absent. */
  async bundlePath(modulePath: string, code: Record<string, string>): Promise<string> {
    const key = canonicalJson(code);
    const file = path.join(this.stateDir, '..', 'build', `${hashBytes(key).slice(0, 24)}.mjs`);
    if (!existsSync(file)) {
      const built = this.built.get(modulePath);
      if (built?.key === key && built.contents) writeFileAtomic(file, built.contents);
      else await this.bundle(modulePath, file);
    }
    return file;
  }

  /** Builds esbuild made in this process (to read a closure), kept to be written as the bundle without a rebuild. */
  private readonly built = new Map<string, { key: string; contents?: Uint8Array }>();

  private async bundle(modulePath: string, outfile: string | undefined): Promise<{ files: string[]; packages: string[]; contents?: Uint8Array }> {
    const esbuild = await import('esbuild');
    let result;
    try {
      result = await esbuild.build({
        absWorkingDir: this.ws.root,
        entryPoints: [path.join(this.ws.root, modulePath)],
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        // Packages stay imports, the engine's public modules (`pipeline-dag/stage`, ...) included, whether they
        // resolve to this workspace itself or to an installed copy: no engine file is ever part of a stage's code.
        packages: 'external',
        external: [...ENGINE_PACKAGE],
        sourcemap: 'inline',
        metafile: true,
        write: false,
        logLevel: 'silent',
        outfile: outfile ?? path.join(this.ws.root, '.pipeline', 'build', 'probe.mjs'),
      });
    } catch (err) {
      const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }).errors;
      const first = errors?.[0];
      const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
      throw new UsageError(`${where}cannot build module \`${modulePath}\`: ${first?.text ?? String(err)}`, 'fix the module so that it compiles');
    }
    // Built for the same folder either way (.pipeline/build), so the bytes do not depend on the final name.
    const contents = result.outputFiles?.[0]?.contents;
    if (outfile && contents) writeFileAtomic(outfile, contents);
    const inputs = Object.keys(result.metafile?.inputs ?? {})
      .map((p) => p.split(path.sep).join('/'))
      .filter((p) => !p.startsWith('..') && !p.includes('node_modules/') && !path.isAbsolute(p));
    const packages = new Set<string>();
    for (const output of Object.values(result.metafile?.outputs ?? {})) {
      for (const imp of output.imports) {
        const name = imp.external ? packageName(imp.path) : undefined;
        if (name !== undefined) packages.add(name);
      }
    }
    // The entry first, then the rest sorted: a stable order for the index.
    const entry = modulePath;
    return { files: [entry, ...inputs.filter((p) => p !== entry).sort()], packages: [...packages].sort(), contents };
  }

  save(): void {
    if (this.dirty) writeFileAtomic(this.indexFile, JSON.stringify(this.index));
    this.dirty = false;
  }
}
