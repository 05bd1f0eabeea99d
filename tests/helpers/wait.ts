// Waiting on conditions the test controls or can observe exactly: a file a stage writes, a line the CLI prints
// (cli.ts: waitForOutput), a process gone by identity (processes.ts) — never a fixed sleep. The polls below look
// at the condition every few ms; the time limit only turns a hang into a failure with a name.
import { lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ended, type CliProcess } from './cli.js';

/**
 * Poll until `predicate` holds. Fails after `timeoutMs`, or as soon as `child` (the CLI whose work the condition
 * waits for) has ended without it holding, with what the CLI wrote.
 */
export async function waitFor(predicate: () => boolean, timeoutMs = 30_000, what = 'condition', child?: CliProcess): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (child && ended(child)) {
      if (predicate()) return;
      throw new Error(`the CLI ended (${child.exitCode ?? child.signalCode}) before ${what}\nstdout: ${child.output.stdout}\nstderr: ${child.output.stderr}`);
    }
    if (Date.now() > end) {
      const said = child ? `\nstdout (its end): ${child.output.stdout.slice(-4000)}\nstderr (its end): ${child.output.stderr.slice(-2000)}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${said}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The newest mtime or ctime (ns) of anything below `dir` (the folder itself included), skipping `skip`. */
function newestStamp(dir: string, skip: (rel: string) => boolean): bigint {
  let newest = 0n;
  const visit = (rel: string) => {
    const st = lstatSync(path.join(dir, rel), { bigint: true });
    for (const t of [st.mtimeNs, st.ctimeNs]) if (t > newest) newest = t;
    if (st.isDirectory()) for (const name of readdirSync(path.join(dir, rel))) if (!skip(path.join(rel, name))) visit(path.join(rel, name));
  };
  visit('.');
  return newest;
}

/**
 * Wait until every file below `dir` is older than `windowNs` (the stat cache's racy window, RACY_NS): from then on
 * the engine trusts a stat of them. The condition is the engine's own rule on the files' stamps, not a guess at a
 * duration; the wait ends the moment it holds.
 */
export async function waitPastRacyWindow(dir: string, windowNs: bigint, skip: (rel: string) => boolean = () => false): Promise<void> {
  const due = newestStamp(dir, skip) + windowNs;
  for (;;) {
    const now = BigInt(Date.now()) * 1_000_000n;
    if (now > due) return;
    await new Promise((r) => setTimeout(r, Number((due - now) / 1_000_000n) + 1));
  }
}

/**
 * Watch a running CLI for a moment: resolves true as soon as `predicate` holds while the CLI still runs, false
 * when it ends first (the moment passed unseen). For catching the CLI in the middle of its own work.
 */
export async function whileRunning(child: CliProcess, predicate: () => boolean, intervalMs = 2): Promise<boolean> {
  for (;;) {
    if (ended(child)) return false;
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
