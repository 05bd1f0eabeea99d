// Which stage writes a dep: the stage whose out is the dep, holds it (a file inside a folder out) or lies inside it
// (a dep on a folder that holds outs); for a glob, every stage with an out it matches or an out that holds the
// glob's fixed leading folder (`build/feat/*.csv` reads inside the out `build/feat`). One index for the config check
// (checks.ts), the check of deps that params produced (interpolate.ts), and the plan (a dep an upstream writes is
// checked once that upstream ran).
import { createRequire } from 'node:module';
import { isExternalDep, isGlobPattern, isUrlDep } from '../core/paths.js';

export interface OutOwner {
  stage: string;
  out: string;
  /** Index of the out in the stage's `outs`. */
  index: number;
}

interface Picomatch {
  (glob: string, options?: { dot?: boolean }): (path: string) => boolean;
  scan(glob: string): { base: string; isGlob: boolean };
}
let picomatch: Picomatch | undefined;

function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent + '/');
}

export class OutIndex {
  private readonly owner = new Map<string, OutOwner>();
  private readonly dirs = new Map<string, OutOwner>();
  private readonly all: OutOwner[] = [];

  constructor(stages: readonly { name: string; outs: readonly string[] }[]) {
    for (const s of stages)
      s.outs.forEach((out, index) => {
        const o = { stage: s.name, out, index };
        this.all.push(o);
        this.owner.set(out, o);
        const parts = out.split('/');
        for (let k = 1; k < parts.length; k++) {
          const d = parts.slice(0, k).join('/');
          if (!this.dirs.has(d)) this.dirs.set(d, o);
        }
      });
  }

  /** The outs that write `dep` (none for a URL, a path outside the workspace, or a text not interpolated yet). */
  producersOf(dep: string): OutOwner[] {
    if (dep.includes('${') || isUrlDep(dep) || isExternalDep(dep)) return [];
    if (!isGlobPattern(dep)) {
      let producer = this.owner.get(dep) ?? this.dirs.get(dep);
      const parts = dep.split('/');
      for (let k = parts.length - 1; k >= 1 && producer === undefined; k--) producer = this.owner.get(parts.slice(0, k).join('/'));
      return producer ? [producer] : [];
    }
    picomatch ??= createRequire(import.meta.url)('picomatch') as Picomatch;
    const matches = picomatch(dep, { dot: true });
    const base = picomatch.scan(dep).base;
    return this.all.filter(({ out }) => matches(out) || (base !== '' && (base === out || isInside(base, out))));
  }
}
