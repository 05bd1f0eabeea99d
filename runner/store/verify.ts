// `pipeline cache verify`: every object re-hashed, every run record checked for objects it points to.
import type { Engine } from '../plan/engine.js';
import { hashFile, type DirManifest } from './hash.js';
import { lstatSync } from 'node:fs';

export interface VerifyResult {
  objects: number;
  corrupt: string[];
  runs: number;
  dangling: { fingerprint: string; stage: string; missing: string[] }[];
}

export async function verifyCache(engine: Engine, repair: boolean): Promise<VerifyResult> {
  const { cache } = engine;
  const objects = cache.listObjects();
  const corrupt: string[] = [];
  for (const hash of objects) {
    const file = cache.objectPath(hash);
    const st = lstatSync(file);
    const ok = st.isFile() && (await hashFile(file, st.size)) === hash;
    if (!ok) {
      corrupt.push(hash);
      if (repair) cache.deleteObject(hash);
    }
  }
  const bad = new Set(corrupt);
  const present = (h: string) => !bad.has(h) && cache.hasObject(h);
  const dangling: VerifyResult['dangling'] = [];
  const runs = cache.listRuns();
  for (const fp of runs) {
    const record = cache.readRun(fp);
    if (!record) {
      dangling.push({ fingerprint: fp, stage: '?', missing: ['(unreadable run record)'] });
      if (repair) cache.deleteRun(fp);
      continue;
    }
    const missing: string[] = [];
    for (const out of record.outs) {
      if (!present(out.hash)) missing.push(out.path);
      else if (out.type === 'dir') {
        const manifest = JSON.parse(cache.readObjectText(out.hash) ?? '{"entries":[]}') as DirManifest;
        for (const e of manifest.entries) if (!present(e.hash)) missing.push(`${out.path}/${e.path}`);
      }
    }
    if (missing.length > 0) {
      dangling.push({ fingerprint: fp, stage: record.stage, missing });
      if (repair) cache.deleteRun(fp);
    }
  }
  return { objects: objects.length, corrupt, runs: runs.length, dangling };
}
