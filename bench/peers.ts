// The peers measured next to `pipeline`: Debian's snakemake and GNU make, installed with apt-get when missing.
import { spawnSync } from 'node:child_process';

export interface Peer {
  name: 'snakemake' | 'make';
  version?: string;
  /** Why the peer is not measured, when it is not. */
  skipped?: string;
}

function version(cmd: string): string | undefined {
  const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  return r.stdout.split('\n')[0].trim();
}

function aptInstall(pkg: string, log: (s: string) => void): string | undefined {
  if (process.getuid?.() !== 0) return 'not root, cannot apt-get install';
  log(`installing ${pkg} with apt-get…`);
  const opts = { encoding: 'utf8' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 15 * 60_000 };
  const update = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], opts);
  if (update.status !== 0) return `apt-get update failed: ${(update.stderr || String(update.error)).trim().split('\n').pop()}`;
  const install = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', pkg], opts);
  if (install.status !== 0) return `apt-get install ${pkg} failed: ${(install.stderr || String(install.error)).trim().split('\n').pop()}`;
  return undefined;
}

/** Finds each peer; installs it when missing and `install` is set; otherwise records why it is skipped. */
export function preparePeers(install: boolean, log: (s: string) => void): Record<Peer['name'], Peer> {
  const out = {} as Record<Peer['name'], Peer>;
  for (const name of ['snakemake', 'make'] as const) {
    let v = version(name);
    let why: string | undefined;
    if (!v) {
      if (install) {
        why = aptInstall(name, log);
        v = version(name);
        if (!v && !why) why = `${name} still not runnable after apt-get install`;
      } else {
        why = `${name} is not installed (--quick does not install peers)`;
      }
    }
    out[name] = v ? { name, version: v } : { name, skipped: why };
    if (!v) log(`skipping peer ${name}: ${why}`);
  }
  return out;
}
