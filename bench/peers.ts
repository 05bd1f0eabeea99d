// The peers measured next to `pipeline`: Debian's snakemake and GNU make, and the original project's Python scripts
// (bench/peers/python, scikit-learn from Debian's python3-sklearn), installed with apt-get when missing.
import { spawnSync } from 'node:child_process';

export interface Peer {
  name: 'snakemake' | 'make' | 'python';
  version?: string;
  /** Why the peer is not measured, when it is not. */
  skipped?: string;
}

/** The interpreter the Python peer runs with (Debian's, where python3-sklearn installs). */
export const PYTHON = '/usr/bin/python3';
const APT_PACKAGE: Record<Peer['name'], string> = { snakemake: 'snakemake', make: 'make', python: 'python3-sklearn' };

function version(cmd: Peer['name']): string | undefined {
  if (cmd === 'python') {
    const probe = 'import sys, sklearn, numpy; print("Python", sys.version.split()[0] + ", scikit-learn", sklearn.__version__ + ", numpy", numpy.__version__)';
    const r = spawnSync(PYTHON, ['-c', probe], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  }
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

/**
 * Finds each peer; installs it when missing and `install` is set; otherwise records why it is skipped. The Python
 * peer (a cold run of three scripts, seconds per run) is measured only in the full bench: `quick` skips it.
 */
export function preparePeers(install: boolean, log: (s: string) => void, quick = false): Record<Peer['name'], Peer> {
  const out = {} as Record<Peer['name'], Peer>;
  for (const name of ['snakemake', 'make', 'python'] as const) {
    if (name === 'python' && quick) {
      out[name] = { name, skipped: 'not measured with --quick (three Python processes loading scikit-learn, seconds per run)' };
      continue;
    }
    let v = version(name);
    let why: string | undefined;
    if (!v) {
      if (install) {
        why = aptInstall(APT_PACKAGE[name], log);
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
