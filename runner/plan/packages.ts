// The packages of a module stage's code: a package's name from an import or a bundled file's path, its installed
// version (the toolchain part of the stage's code), and what fixes an import that resolves nowhere.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { ReadSet } from '../core/read-set.js';
import { builtinModules } from 'node:module';
import path from 'node:path';

/** A package's name from the path parts that start with it (`@scope/name/sub` → `@scope/name`). */
function nameIn(parts: string[]): string {
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The bare package name of an import specifier (`@scope/name/sub` → `@scope/name`), or undefined for builtins. */
export function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const name = nameIn(specifier.split('/'));
  if (BUILTINS.has(name) || name === 'pipeline-dag') return undefined;
  return name;
}

const BUILTINS = new Set(builtinModules);

/** What fixes a build error when its text says (an import that resolves nowhere); undefined otherwise. */
export function remedyOf(text: string): string | undefined {
  const spec = /^Could not resolve "([^"]+)"/.exec(text)?.[1];
  if (spec === undefined) return undefined;
  if (spec.startsWith('.') || spec.startsWith('/')) return `correct the import: no file \`${spec}\` from the importing module's folder`;
  const name = packageName(spec);
  return name === undefined ? undefined : `\`npm install ${name}\` if it is missing, or correct the import`;
}

/**
 * The toolchain part of a module stage's code: Node major, platform, and each package's version — read from the
 * folder it was bundled from, or as Node would resolve it from the workspace for a package kept as an import.
 */
export function toolchainOf(root: string, packages: Record<string, string>, versions = new Map<string, Version>(), reads?: ReadSet): Record<string, string> {
  const out: Record<string, string> = {
    'toolchain:node': `v${process.versions.node.split('.')[0]}`,
    'toolchain:platform': `${process.platform}-${process.arch}`,
  };
  for (const [name, folder] of Object.entries(packages)) {
    const key = `${name}\0${folder}`;
    let version = versions.get(key);
    if (version === undefined) {
      version = folder ? { version: versionIn(path.join(root, folder, 'package.json')), read: [path.join(root, folder, 'package.json')] } : installedVersion(root, name);
      versions.set(key, version);
    }
    // The manifests the version is read from, and where Node's resolution looked before it found one.
    for (const file of version.read) reads?.add('package', file);
    out[`package:${name}`] = version.version;
  }
  return out;
}

/** A package's version and the manifests looked at to find it (the last one its own, when installed). */
export interface Version {
  version: string;
  read: string[];
}

/** The version of a package as Node would resolve it from the workspace (node_modules upwards), or `missing`. */
function installedVersion(root: string, name: string): Version {
  const read: string[] = [];
  const folder = installedFolder(root, name, read);
  return { version: folder === undefined ? 'missing' : versionIn(path.join(folder, 'package.json')), read };
}

/**
 * The folder of a package as Node would resolve it from the workspace (node_modules upwards), if installed; the
 * manifests looked for are added to `looked`.
 */
export function installedFolder(root: string, name: string, looked?: string[]): string | undefined {
  for (let dir = root; ; dir = path.dirname(dir)) {
    const folder = path.join(dir, 'node_modules', name);
    looked?.push(path.join(folder, 'package.json'));
    if (existsSync(path.join(folder, 'package.json'))) return folder;
    if (path.dirname(dir) === dir) return undefined;
  }
}

function versionIn(packageJson: string): string {
  try {
    const version = (JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return existsSync(packageJson) ? 'unreadable' : 'missing';
  }
}

/**
 * The package a bundled input file belongs to: its name and folder (`node_modules/zod/v4/mini/index.js` → zod in
 * `node_modules/zod`; nested installs keep their own folder), or undefined for the workspace's own files.
 */
export function packageOf(input: string): { name: string; folder: string } | undefined {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const name = nameIn(input.slice(at + 'node_modules/'.length).split('/'));
  return { name, folder: `${input.slice(0, at)}node_modules/${name}` };
}

/** Size and mtime of each file (workspace-relative or absolute), in order; a missing one counts as such. */
export function packageStamp(root: string, files: string[]): string {
  return files
    .map((f) => {
      const st = statSync(path.resolve(root, f), { throwIfNoEntry: false });
      return st ? `${st.size}:${st.mtimeMs}` : '-';
    })
    .join(',');
}
