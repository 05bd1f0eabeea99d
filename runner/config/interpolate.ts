// `${name}` in `deps`, `cmd` and `env`: replaced by the stage's param `name` (its own, a global one, or a `--set`),
// after the overrides are applied, so a value such as a data source is written once; `$${` is a literal `${`.
// What the text alone says (unknown names, references no quoting makes safe) was checked when the file was loaded
// (interpolation-check.ts); here the values go in, through the same functions (interpolation.ts):
// - `cmd` with `shell: true`: each value quoted for where it stands in the line; as an argv word: the value as it is,
//   one word (or part of one). A value that would reach code after all — a program named by a param that runs an
//   argument as code, a value starting with `-` that an interpreter would read as an option — is refused.
// - `env`: the value as it is (an environment value is never parsed as code by the runner).
// - `deps`: the value as a dep, classified like any (a workspace path, a path outside the workspace, an http(s)://
//   URL), and checked like a literal one: a path another stage writes needs that stage in `needs`.
// A value that is not a string, number or boolean, or holds a NUL character, is refused. Every problem names the
// place in the file and, for a value from `--set`, the argument.
import path from 'node:path';
import { diagnostic, related, type Diagnostic, type DiagnosticCode, type RelatedLocation } from '../core/diagnostic.js';
import { unhashableDep, UNHASHABLE_HINT } from './dep-places.js';
import { ConfigError } from '../core/errors.js';
import { isExternalDep, isGlobPattern, isUrlDep } from '../core/paths.js';
import { stageDag } from './checks.js';
import { argvCodeWords, CODE_HINT, ESCAPE_HINT, shellLine, UNSAFE_HINT } from './interpolation.js';
import { OutIndex } from './producers.js';
import { hasRefs, refsOf, substitute } from './refs.js';
import type { PipelineConfig, Position, StageConfig } from './types.js';

export function interpolate(config: PipelineConfig): PipelineConfig {
  const problems: Diagnostic[] = [];
  const stages = config.stages.map((s) => interpolateStage(config, s, problems));
  if (problems.length === 0) checkProducedDeps(config, stages, problems);
  if (problems.length > 0) throw ConfigError.of([...new Map(problems.map((d) => [JSON.stringify(d), d])).values()]);
  if (stages.every((s, i) => s === config.stages[i])) return config;
  const next = { ...config, stages } as PipelineConfig;
  const rangeOf = config.rangeOf?.bind(config);
  Object.defineProperty(next, 'positionOf', { value: (p: (string | number)[]) => config.positionOf(p), enumerable: false });
  if (rangeOf) Object.defineProperty(next, 'rangeOf', { value: (p: (string | number)[], part?: 'key' | 'value') => rangeOf(p, part), enumerable: false });
  return next;
}

/** Where a `--set` put a param's value, as a place (the argument, from the value on). */
function setArgument(stage: StageConfig, name: string): RelatedLocation[] {
  const inFile = stage.setIn?.[name];
  if (inFile !== undefined) return [related(inFile.at, `\`${name}\` is set here`)];
  const raw = stage.setBy?.[name];
  if (raw === undefined) return [];
  const file = `--set ${raw}`;
  return [related({ file, line: 1, col: file.indexOf('=') + 2, endLine: 1, endCol: file.length + 1 }, `\`${name}\` is set here`)];
}

function where(config: PipelineConfig, keyPath: (string | number)[]): Position {
  return config.rangeOf?.(keyPath) ?? config.positionOf(keyPath);
}

function interpolateStage(config: PipelineConfig, stage: StageConfig, problems: Diagnostic[]): StageConfig {
  if (!stage.deps.some(hasRefs) && !(stage.cmd ?? []).some(hasRefs) && !Object.values(stage.env).some(hasRefs)) return stage;
  const problem = (keyPath: (string | number)[], names: string[], message: string, hint: string) =>
    problems.push(diagnostic('unsafe-interpolation', where(config, keyPath), `stage \`${stage.name}\`: ${message}`, hint, names.flatMap((n) => setArgument(stage, n))));
  /** The value of a reference as text, or undefined (reported) when it has none. */
  const text = (name: string, keyPath: (string | number)[], carriesNul: boolean): string => {
    const v = stage.params[name];
    // The position only when there is something to report: finding it parses the file's YAML document.
    if (!Object.hasOwn(stage.params, name)) {
      problems.push(diagnostic('unknown-interpolation', where(config, keyPath), `stage \`${stage.name}\`: \`\${${name}}\` names no param of this stage`, ESCAPE_HINT));
      return '';
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      problems.push(diagnostic('unknown-interpolation', where(config, keyPath), `stage \`${stage.name}\`: \`\${${name}}\` is ${JSON.stringify(v)}; only a string, number or boolean can be put into a text`, `set \`${name}\` to a scalar`, setArgument(stage, name)));
      return '';
    }
    const s = String(v);
    if (!carriesNul && s.includes('\0')) problem(keyPath, [name], `\`\${${name}}\` holds a NUL character, which no command argument or environment variable can carry`, `remove the NUL from \`${name}\``);
    return s;
  };

  const deps = stage.deps.map((d, i) => {
    if (!hasRefs(d)) return d;
    const at = ['stages', stage.name, 'deps', i];
    const value = substitute(d, (ref) => text(ref.name, at, true));
    const report = (code: DiagnosticCode) => (message: string, hint: string) =>
      problems.push(diagnostic(code, where(config, at), `stage \`${stage.name}\`: dep \`${d}\` is \`${value.replace(/\0/g, '\\0')}\`, ${message}`, hint, refsOf(d).flatMap((r) => setArgument(stage, r.name))));
    const dep = classifyDep(value, report('bad-path'));
    const why = unhashableDep(config.root, dep);
    if (why) report('dep-unhashable')(why, UNHASHABLE_HINT);
    return dep;
  });
  const env = Object.fromEntries(Object.entries(stage.env).map(([k, v]) => [k, hasRefs(v) ? substitute(v, (ref) => text(ref.name, ['stages', stage.name, 'env', k], false)) : v]));
  const cmd = stage.cmd && interpolateCommand(stage, stage.cmd, text, problem);
  return { ...stage, deps, ...(cmd ? { cmd } : {}), env };
}

type TextOf = (name: string, keyPath: (string | number)[], carriesNul: boolean) => string;
type Problem = (keyPath: (string | number)[], names: string[], message: string, hint: string) => void;

function interpolateCommand(stage: StageConfig, cmd: string[], text: TextOf, problem: Problem): string[] {
  if (!cmd.some(hasRefs)) return cmd;
  if (stage.shell) {
    const keyPath = ['stages', stage.name, 'cmd'];
    const line = shellLine(cmd[0], (ref) => text(ref.name, keyPath, false));
    for (const p of line.problems) {
      const ref = cmd[0].slice(p.start, p.end);
      problem(keyPath, refsOf(ref).map((r) => r.name), `\`${ref}\` cannot be put into this command safely: ${p.why}`, p.kind === 'code' ? CODE_HINT : UNSAFE_HINT);
    }
    return line.text === undefined ? cmd : [line.text];
  }
  const words = cmd.map((w, i) => (hasRefs(w) ? substitute(w, (ref) => text(ref.name, ['stages', stage.name, 'cmd', i], false)) : w));
  const refusals = argvCodeWords(cmd, (ref, i) => text(ref.name, ['stages', stage.name, 'cmd', i], true));
  for (const { index, why } of refusals) {
    const names = refsOf(cmd[index]).map((r) => r.name);
    problem(['stages', stage.name, 'cmd', index], names, `\`${cmd[index]}\` (argument ${index} of the command) cannot take a value: ${why}`, CODE_HINT);
  }
  return words;
}

/** A dep value as the engine keeps it, or why it cannot be one. */
function classifyDep(value: string, fail: (message: string, hint: string) => void): string {
  if (isUrlDep(value)) return value;
  const norm = path.posix.normalize(value.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (value.trim() === '' || value.includes('\0') || norm === '.' || value.startsWith('~')) {
    fail('which is not a file, folder or URL', 'set the param to a path (inside or outside the workspace) or an http(s):// URL');
    return value;
  }
  if (isExternalDep(norm) && isGlobPattern(norm)) fail('a glob pattern outside the workspace', 'name the file or folder itself');
  return norm;
}

/** A dep that a reference produced, checked like a literal one: a path another stage writes needs that stage. */
function checkProducedDeps(config: PipelineConfig, stages: StageConfig[], problems: Diagnostic[]): void {
  const index = new OutIndex(stages);
  const dag = stageDag(stages);
  stages.forEach((s, n) => {
    const before = config.stages[n];
    s.deps.forEach((dep, i) => {
      const written = before.deps[i];
      if (written === undefined || !hasRefs(written)) return;
      const seen = new Set<string>();
      for (const p of index.producersOf(dep)) {
        if (p.stage === s.name || seen.has(p.stage) || dag.dependsOn(s.name, p.stage)) continue;
        seen.add(p.stage);
        const rel = [related(where(config, ['stages', p.stage, 'outs', p.index]), `stage \`${p.stage}\` writes \`${p.out}\` here`), ...refsOf(written).flatMap((r) => setArgument(before, r.name))];
        problems.push(
          diagnostic(
            'dep-needs-producer',
            where(config, ['stages', s.name, 'deps', i]),
            `stage \`${s.name}\`: dep \`${written}\` is \`${dep}\`, which stage \`${p.stage}\` writes, and \`${s.name}\` does not need \`${p.stage}\``,
            `add \`${p.stage}\` to its \`needs\`, or give the param another path (the two stages would otherwise start in no defined order)`,
            rel,
          ),
        );
      }
    });
  });
}
