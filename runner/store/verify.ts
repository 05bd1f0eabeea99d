// `pipeline cache verify`: every object re-hashed; every run record read as the engine reads it (a malformed one
// is unreadable), its folder manifests validated as a restore validates them (safe relative paths, no duplicates,
// no file that is also a folder) and checked for the objects they point to; every pipeline.lock entry checked
// against its stage's declared outs.
import { checkRecordedOuts, type Cache } from './cache.js';
import { hashFile, parseManifest, yieldToSignals, YIELD_EVERY } from './hash.js';
import type { LockFile } from './lockfile.js';
import { lstatSync } from 'node:fs';

export interface VerifyResult {
  objects: number;
  corrupt: string[];
  runs: number;
  dangling: { fingerprint: string; stage: string; missing: string[] }[];
  /** Run records and lock entries a restore would refuse: what is wrong with each. */
  unsafe: { source: string; stage: string; problem: string }[];
}

/** `stages`: the workspace's stages in pipeline order, with their declared outs, whose `lock` entries are checked. */
export async function verifyCache(
  cache: Cache,
  lock: LockFile,
  stages: readonly { name: string; outs: readonly string[] }[],
  repair: boolean,
  signal?: AbortSignal,
): Promise<VerifyResult> {
  const objects = cache.listObjects();
  const corrupt: string[] = [];
  for (const [i, hash] of objects.entries()) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToSignals(signal);
    const file = cache.objectPath(hash);
    let ok = false;
    try {
      const st = lstatSync(file);
      ok = st.isFile() && (await hashFile(file, st.size)) === hash;
    } catch {
      // gone meanwhile, or unreadable: corrupt
    }
    if (!ok) {
      corrupt.push(hash);
      if (repair) cache.deleteObject(hash);
    }
  }
  const bad = new Set(corrupt);
  const present = (h: string) => !bad.has(h) && cache.hasObject(h);
  const dangling: VerifyResult['dangling'] = [];
  const unsafe: VerifyResult['unsafe'] = [];
  const runs = cache.listRuns();
  for (const [i, fp] of runs.entries()) {
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToSignals(signal);
    const record = cache.readRun(fp);
    if (!record) {
      // Malformed (wrong shape, unsafe out paths, a name that is not its fingerprint) reads as unreadable.
      dangling.push({ fingerprint: fp, stage: '?', missing: ['(unreadable run record)'] });
      if (repair) cache.deleteRun(fp);
      continue;
    }
    const missing: string[] = [];
    let problem: string | undefined;
    for (const out of record.outs) {
      if (!present(out.hash)) missing.push(out.path);
      else if (out.type === 'dir') {
        const text = cache.readObjectText(out.hash);
        const parsed = text === undefined ? undefined : parseManifest(text);
        if (!parsed) missing.push(out.path);
        else if ('problem' in parsed) {
          problem = `folder out \`${out.path}\`: ${parsed.problem}`;
          if (repair) cache.deleteObject(out.hash);
        } else for (const e of parsed.manifest.entries) if (!present(e.hash)) missing.push(`${out.path}/${e.path}`);
      }
    }
    if (problem) {
      unsafe.push({ source: `run record ${fp.slice(0, 12)}`, stage: record.stage, problem });
      if (repair) cache.deleteRun(fp);
    } else if (missing.length > 0) {
      dangling.push({ fingerprint: fp, stage: record.stage, missing });
      if (repair) cache.deleteRun(fp);
    }
  }
  for (const { name, outs } of stages) {
    const entry = lock.get(name);
    if (!entry) continue;
    const problem = checkRecordedOuts(outs, entry.outs, 'the entry');
    if (problem) unsafe.push({ source: 'pipeline.lock', stage: name, problem: problem.replace(/: refused.*$/, '') });
  }
  return { objects: objects.length, corrupt, runs: runs.length, dangling, unsafe };
}
