// PipelineConfig objects for the CI tests, built from YAML text the way pipeline.yaml is written.
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { PipelineConfig, Position, StageConfig } from '../../runner/types.js';

interface RawStage {
  module?: string;
  cmd?: string | string[];
  needs?: string[];
  outs?: string[];
  metrics?: string[];
  deps?: string[];
  params?: Record<string, unknown>;
  gate?: boolean;
  cache?: boolean;
  env?: Record<string, string>;
  desc?: string;
}

/** A minimal stand-in for parseConfigText: enough of pipeline.yaml for the generator (stages, needs, outs, gate, ci). */
export function configFromYaml(text: string, file = '/work/pipeline.yaml'): PipelineConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) throw doc.errors[0];
  const raw = doc.toJS() as { params?: Record<string, unknown>; stages?: Record<string, RawStage>; ci?: Record<string, unknown> };
  const positionOf = (p: (string | number)[]): Position => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true);
      if (isNode(node) && node.range) {
        const { line, col } = lineCounter.linePos(node.range[0]);
        return { file, line, col };
      }
    }
    return { file, line: 1, col: 1 };
  };
  const stages: StageConfig[] = Object.entries(raw.stages ?? {}).map(([name, s]) => ({
    name,
    kind: s.module ? 'module' : 'cmd',
    module: s.module,
    cmd: s.cmd === undefined ? undefined : Array.isArray(s.cmd) ? s.cmd : s.cmd.split(' '),
    shell: false,
    deps: s.deps ?? [],
    needs: s.needs ?? [],
    params: { ...(raw.params ?? {}), ...(s.params ?? {}) },
    ownParams: Object.keys(s.params ?? {}),
    outs: s.outs ?? [],
    metrics: s.metrics ?? [],
    env: s.env ?? {},
    cache: s.cache ?? true,
    gate: s.gate ?? false,
    desc: s.desc,
    pos: positionOf(['stages', name]),
  }));
  return {
    file,
    root: file.slice(0, file.lastIndexOf('/')),
    version: 1,
    params: raw.params ?? {},
    stages,
    commands: {},
    ci: raw.ci ?? {},
    positionOf,
  };
}
