// The code of a `module:` stage: the module file and every local module it imports, transitively.
// esbuild bundles the module into .pipeline/build/<hash>.mjs with the packages it imports inside (one file loads
// several times faster than a package's many: zod's ESM build is ~90 files), the engine's own public modules
// (`pipeline-dag/...`) always kept as imports. A module whose packages cannot live in an ES module bundle (a native
// addon, a CommonJS package that requires at run time, one that finds files beside its own) keeps all its packages
// as imports instead. The metafile is the exact import closure, remembered per module so an unchanged closure is
// re-checked by stat alone. Each bundle has its source map beside it (`<hash>.mjs.map`, positions only): nothing
// loads it when a stage starts; the runner reads it after a stage threw, to name the source line (exec/thrown.ts).
// The bundle's bytes are the same with or without it, and neither enters a fingerprint: a map is derived from the
// code, as the bundle is.
//
// Results travel between machines (a remote cache), so a module stage's code also names its toolchain: the Node
// major version, the platform, and the version of every package its code uses (bundled or imported; versions read
// from the installed package.json). These are entries of the same map, keyed `toolchain:node`, `toolchain:platform`
// and `package:<name>`, so a result made by another toolchain has another fingerprint and is never restored, and
// `status` names what differs; a new install of a package therefore also names a new bundle.
//
// The closure also records what resolving its imports looked at without picking (resolution.ts): the candidates
// esbuild tried before the file it found (`helper.ts` before `helper.js`), the node_modules folders searched before
// a package's, and the config files above the module's files. The recorded closure stands only while each is as it
// was; a new `helper.ts` makes esbuild read the imports again, and the new closure names it (`new code …`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic.js';
import { joinUnder } from '../core/paths.js';
import { canonicalJson, hashBytes } from '../store/hash.js';
import type { Workspace } from '../store/workspace.js';
import { ModuleBuildError, UsageError } from '../core/errors.js';
import { packageName, packageStamp, remedyOf, toolchainOf, type Version } from './packages.js';
import { closureOf, type ModuleClosure } from './closure.js';
import { kindOf, type ProbeKind } from './resolution.js';
import { TurnMemo } from './turn-memo.js';

/** The engine's own package name and its subpaths, kept external however the workspace resolves them. */
const ENGINE_PACKAGE = ['pipeline-dag', 'pipeline-dag/*'];

interface ClosureIndex {
  /** Bumped when the bundling rules change, so every closure is read again (5: packages bundled, 6: lookups). */
  version: 6;
  /** module → (file → hash) as last bundled. */
  modules: Record<string, Record<string, string>>;
  /**
   * module → the packages its closure uses (the engine's own excluded), as last bundled: name → the folder its
   * version is read from (workspace-relative, bundled packages), or '' (kept as an import: resolved from the root).
   */
  packages: Record<string, Record<string, string>>;
  /** module → the package files bundled into it (as esbuild names them), whose stat names the bundle. */
  packageFiles: Record<string, string[]>;
  /**
   * module → what resolving its imports looked at and did not pick (workspace-relative or absolute path → `-`
   * missing, `d` a folder, `o` another kind), and the config files above its files (→ their hash, or their kind).
   */
  probes: Record<string, Record<string, string>>;
  /** module → the imports whose resolution is not reproduced (resolution.ts): its closure is read on every run. */
  unfollowed: Record<string, string[]>;
}

/** Part of every bundle's name: a change of the bundling rules never serves an old bundle (2: a map beside it). */
const RULES = 'packages-bundled-2';

export class ModuleCode {
  private index: ClosureIndex = { version: 6, modules: {}, packages: {}, packageFiles: {}, probes: {}, unfollowed: {} };
  private readonly versions = new Map<string, Version>();
  private dirty = false;

  constructor(
    private readonly ws: Workspace,
    private readonly stateDir: string,
  ) {
    const file = this.indexFile;
    if (existsSync(file)) {
      try {
        const data = JSON.parse(readFileSync(file, 'utf8')) as ClosureIndex;
        if (data.version === 6 && data.packageFiles && data.probes && data.unfollowed) this.index = data;
      } catch {
        // rebuilt on demand
      }
    }
  }

  private get indexFile(): string {
    return path.join(this.stateDir, 'modules.json');
  }

  /** Where bundles are built and kept: .pipeline/build. */
  private get buildDir(): string {
    return path.join(this.stateDir, '..', 'build');
  }

  /**
   * Workspace-relative file → content hash, for the module and everything it imports locally. The closure can
   * only change when one of its files changes, so when every recorded file still has its recorded hash the
   * recorded closure stands; otherwise esbuild reads the imports again. The toolchain entries are added to it.
   */
  async closure(modulePath: string): Promise<Record<string, string>> {
    // Stages of one module, read at the same time, share one read (and one build).
    let reading = this.reading.get(modulePath);
    if (!reading) {
      reading = this.readClosure(modulePath);
      this.reading.set(modulePath, reading);
      const done = () => this.reading.delete(modulePath);
      reading.then(done, done);
    }
    return reading;
  }

  private readonly reading = new Map<string, Promise<Record<string, string>>>();

  private async readClosure(modulePath: string): Promise<Record<string, string>> {
    const recorded = await this.recorded(modulePath);
    if (recorded) return recorded;
    const built = await this.bundle(modulePath);
    const hashes = await this.hashAll(built.files);
    if (!hashes) throw new UsageError(`the imports of \`${modulePath}\` changed while they were being read`, 'run again');
    return this.remember(modulePath, hashes, built, await this.probeStates(built));
  }

  /** Hashes of the files, or undefined when one is gone. */
  private async hashAll(files: string[]): Promise<Record<string, string> | undefined> {
    const hashes: Record<string, string> = {};
    for (const f of files) {
      const hash = await this.hashCode(f);
      if (hash === undefined) return undefined;
      hashes[f] = hash;
    }
    return hashes;
  }

  /**
   * A code file's hash: a workspace file as any (a symlink refused), a file outside the workspace (`../lib/x.ts`,
   * imported across) by content with symlinks followed, as deps outside are; undefined when it is not a file.
   */
  private hashCode(key: string): Promise<string | undefined> {
    return this.turn.once(`hash\0${key}`, () => this.hashCodeNow(key));
  }

  private async hashCodeNow(key: string): Promise<string | undefined> {
    if (!key.startsWith('../') && !path.isAbsolute(key)) {
      const rec = await this.ws.hashOut(key, 'module').catch(() => undefined);
      return rec?.type === 'file' ? rec.hash : undefined;
    }
    const abs = path.resolve(this.ws.root, key);
    this.ws.reads?.add('code', abs);
    const st = statSync(abs, { bigint: true, throwIfNoEntry: false });
    return st?.isFile() ? this.ws.stats.hash(abs, st).catch(() => undefined) : undefined;
  }

  /** What a probed path is now: its kind, or its hash for a file whose content was recorded. */
  private async probeState(key: string, byContent: boolean): Promise<string> {
    const kind = this.kindNow(key);
    if (kind !== 'f' || !byContent) return kind;
    return (await this.hashCode(key)) ?? '-';
  }

  /** Kinds, contents and hashes read until the run changes the workspace, then in each turn (turn-memo.ts). */
  private readonly turn = new TurnMemo(true);

  /**
   * The workspace is about to change (a stage will execute or have outs restored): from now on every check reads
   * the files again in each turn, since one of them may be a code file the change writes.
   */
  workspaceChanging(): void {
    this.turn.everyTurn();
  }

  private kindNow(key: string): ProbeKind {
    return this.turn.once(`kind\0${key}`, () => {
      const abs = key.startsWith('/') || key.endsWith('/') ? path.resolve(this.ws.root, key) : joinUnder(this.ws.root, key);
      this.ws.reads?.add('lookup', abs);
      return kindOf(abs);
    });
  }

  /** Whether every probe of a recorded closure reads as recorded: the kinds first (stat only), then the contents. */
  private async probesHold(probes: Record<string, string>): Promise<boolean> {
    const entries = Object.entries(probes);
    for (const [key, state] of entries) if (state.length !== 64 && this.kindNow(key) !== state) return false;
    for (const [key, state] of entries) {
      if (state.length === 64 && (await this.turn.once(`content\0${key}`, () => this.probeState(key, true))) !== state) return false;
    }
    return true;
  }

  /** The recorded states of a build's probes: the negative lookups by kind, the config files by content. */
  private async probeStates(built: Built): Promise<Record<string, string>> {
    const states: Record<string, string> = { ...built.negatives };
    for (const key of built.configs) states[key] = await this.probeState(key, true);
    return states;
  }

  /**
   * The bundle to run for this exact code: written from the build that read the closure, or built when absent.
   * It is named by the code, the bundling rules and the size and mtime of every package file bundled into it, so
   * an edited package (a linked or patched one keeps its version) is bundled again.
   */
  async bundlePath(modulePath: string, code: Record<string, string>): Promise<string> {
    const key = canonicalJson(code);
    const named = (packageFiles: string[]) => {
      const name = hashBytes(`${RULES}\0${key}\0${packageStamp(this.ws.root, packageFiles)}`).slice(0, 24);
      return path.join(this.buildDir, `${name}.mjs`);
    };
    const file = named(this.index.packageFiles[modulePath] ?? []);
    if (existsSync(file)) return file;
    const built = this.built.get(modulePath);
    if (built?.key === key && built.contents) {
      writeBundle(file, built);
      return file;
    }
    const fresh = await this.bundle(modulePath);
    this.index.packageFiles[modulePath] = fresh.packageFiles;
    this.dirty = true;
    const target = named(fresh.packageFiles);
    if (fresh.contents) writeBundle(target, fresh);
    return target;
  }

  /** Builds esbuild made in this process (to read a closure), kept to be written as the bundle without a rebuild. */
  private readonly built = new Map<string, { key: string } & Pick<Built, 'contents' | 'map'>>();

  /**
   * Read the closures of these modules at once: those never recorded here (a cold start) are built by one esbuild
   * call, which parses the files and packages they share once instead of once per module. A recorded module is left
   * to `closure`, which checks it (and rebuilds it if it changed), as is a module that needs its own build (an
   * error, packages kept as imports).
   */
  async readAll(modulePaths: string[]): Promise<void> {
    const unknown = [...new Set(modulePaths)].filter((m) => !this.reading.has(m) && !this.isRecorded(m));
    if (unknown.length < 2) return;
    const builds = await this.build(unknown, true).catch(() => new Map<string, Built>());
    // The modules share most of their package files (zod's): each is read once for all of them.
    const locates = new Map<string, boolean>();
    for (const [m, built] of builds) {
      if (!canCarryPackages(this.ws.root, built, locates)) continue;
      const hashes = await this.hashAll(built.files);
      if (hashes) this.remember(m, hashes, built, await this.probeStates(built));
    }
  }

  /** The packages of a module's code as last bundled: name → its folder (workspace-relative; '' kept as an import). */
  packagesOf(modulePath: string): Record<string, string> {
    return this.index.packages[modulePath] ?? {};
  }

  /** Whether a closure of this module was recorded (its files may have changed since). */
  isRecorded(modulePath: string): boolean {
    return this.index.modules[modulePath] !== undefined;
  }

  /**
   * The recorded closure of a module when every file in it still has its recorded hash and every path its
   * resolution looked at is as it was (a missing candidate still missing, a config file unchanged).
   */
  private async recorded(modulePath: string): Promise<Record<string, string> | undefined> {
    const known = this.index.modules[modulePath];
    const knownPackages = this.index.packages[modulePath];
    const probes = this.index.probes[modulePath];
    if (!known || !knownPackages || !probes || (this.index.unfollowed[modulePath]?.length ?? 0) > 0) return undefined;
    const hashes = await this.hashAll(Object.keys(known));
    if (!hashes || !Object.keys(hashes).every((f) => hashes[f] === known[f])) return undefined;
    if (!(await this.probesHold(probes))) return undefined;
    return { ...hashes, ...toolchainOf(this.ws.root, knownPackages, this.versions, this.ws.reads) };
  }

  private remember(modulePath: string, hashes: Record<string, string>, built: Built, probes: Record<string, string>): Record<string, string> {
    const code = { ...hashes, ...toolchainOf(this.ws.root, built.packages, this.versions, this.ws.reads) };
    this.built.set(modulePath, { key: canonicalJson(code), contents: built.contents, map: built.map });
    this.index.modules[modulePath] = hashes;
    this.index.packages[modulePath] = built.packages;
    this.index.packageFiles[modulePath] = built.packageFiles;
    this.index.probes[modulePath] = probes;
    // What the build looked for is read as much as what it found (esbuild looked, not this process).
    for (const key of Object.keys(probes)) this.ws.reads?.add('lookup', path.resolve(this.ws.root, key));
    this.index.unfollowed[modulePath] = built.unfollowed;
    this.dirty = true;
    return code;
  }

  /** Built with its packages inside; with them kept as imports when they cannot be (see the top of this file). */
  private async bundle(modulePath: string): Promise<Built> {
    const inside = await this.build([modulePath], true).then(
      (b) => b.get(modulePath),
      (err: unknown) => {
        // A package that esbuild cannot take in (a native addon's `.node` file) is the packages' fault, not the module's.
        if (err instanceof PackageBuildError) return undefined;
        throw err;
      },
    );
    return inside && canCarryPackages(this.ws.root, inside) ? inside : (await this.build([modulePath], false)).get(modulePath)!;
  }

  /** One esbuild call for these modules; each one's bundle, local files and packages (from the metafile). */
  private async build(modulePaths: string[], packagesInside: boolean): Promise<Map<string, Built>> {
    // Required: an ES import of esbuild's CommonJS entry scans its source for export names first (~50 ms cold).
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const { buildDir } = this;
    let result;
    try {
      result = await esbuild.build({
        absWorkingDir: this.ws.root,
        entryPoints: modulePaths.map((m, i) => ({ in: path.join(this.ws.root, m), out: `module-${i}` })),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        // The engine's public modules (`pipeline-dag/stage`, ...) stay imports, whether they resolve to this
        // workspace itself or to an installed copy: no engine file is ever part of a stage's code.
        ...(packagesInside ? { plugins: [lazyPackagesOutside] } : { packages: 'external' as const }),
        external: [...ENGINE_PACKAGE],
        // Beside the bundle, never inside it (no `sourceMappingURL` comment, the same bytes): positions only, read
        // after a stage threw (exec/thrown.ts), never when one starts.
        sourcemap: 'external',
        sourcesContent: false,
        metafile: true,
        write: false,
        logLevel: 'silent',
        // Built for .pipeline/build whatever the final name, so the bytes do not depend on it.
        outdir: buildDir,
        outExtension: { '.js': '.mjs' },
      });
    } catch (err) {
      const errors = (err as { errors?: { text: string; location?: { file: string; line: number; column: number } }[] }).errors;
      const first = errors?.[0];
      if (packagesInside && errors?.some((e) => e.location?.file.includes('node_modules/') || e.text.includes('.node'))) throw new PackageBuildError();
      const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column + 1}: ` : '';
      const text = first?.text ?? String(err);
      throw new ModuleBuildError(`${where}cannot build module \`${modulePaths.join('`, `')}\`: ${text}`, remedyOf(text));
    }
    const meta = result.metafile;
    const builds = new Map<string, Built>();
    modulePaths.forEach((modulePath, i) => {
      const out = path.join(buildDir, `module-${i}.mjs`);
      const contents = result.outputFiles?.find((f) => f.path === out)?.contents;
      const map = result.outputFiles?.find((f) => f.path === `${out}.map`)?.contents;
      builds.set(modulePath, { ...closureOf(this.ws.root, meta.inputs, modulePath), contents, map });
    });
    return builds;
  }

  save(): void {
    if (this.dirty) writeFileAtomic(this.indexFile, JSON.stringify(this.index));
    this.dirty = false;
  }
}

/** A package imported with `import()` stays an import, loaded when that code runs (`compare` never loads vega). */
const lazyPackagesOutside = {
  name: 'lazy-packages-outside',
  setup(build: { onResolve(options: { filter: RegExp }, callback: (args: { path: string; kind: string }) => { path: string; external: boolean } | undefined): void }) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.kind === 'dynamic-import' && packageName(args.path) !== undefined ? { path: args.path, external: true } : undefined));
  },
};

interface Built extends ModuleClosure {
  contents?: Uint8Array;
  /** Its source map (sources relative to .pipeline/build). */
  map?: Uint8Array;
}

/** The map first, then the bundle: a bundle in place always has its map beside it. */
function writeBundle(file: string, built: Pick<Built, 'contents' | 'map'>): void {
  if (built.map) writeFileAtomic(`${file}.map`, built.map);
  writeFileAtomic(file, built.contents!);
}

/** esbuild could not take a package into the bundle: the module is built again with its packages as imports. */
class PackageBuildError extends Error {}

/**
 * Whether the bundle can carry its packages: none of them requires at run time, and none finds files beside its
 * own (`import.meta.url`, `__dirname`, `__filename`: inside the bundle they would name .pipeline/build). `locates`
 * keeps each package file's answer for the other modules of one build.
 */
function canCarryPackages(root: string, built: Built, locates = new Map<string, boolean>()): boolean {
  if (needsRuntimeRequire(built.contents)) return false;
  const locatesItself = (f: string) => {
    try {
      return LOCATES_ITSELF.test(readFileSync(path.resolve(root, f), 'utf8'));
    } catch {
      return true;
    }
  };
  return !built.packageFiles.some((f) => locates.get(f) ?? locates.set(f, locatesItself(f)).get(f));
}

const LOCATES_ITSELF = /\bimport\.meta\b|\b__dirname\b|\b__filename\b/;

/**
 * Whether a bundle holds a CommonJS package that calls `require` at run time (for Node's built-ins or a computed
 * path): esbuild's ES module output then carries its `__require` shim, which throws "Dynamic require of … is not
 * supported" when called, so such a module keeps its packages as imports.
 */
function needsRuntimeRequire(contents: Uint8Array | undefined): boolean {
  return contents !== undefined && Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength).includes('Dynamic require of "');
}
