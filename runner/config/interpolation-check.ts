// What the text of pipeline.yaml alone says about its `${name}` references, checked when the file is loaded (so
// `validate` reports it, each at the reference's own line:col): a name the stage has no param for, a `${` without
// its `}`, a reference in a `shell: true` line where no quoting is safe, and one in the code a known interpreter
// runs. The values are put in later (interpolate.ts), through the same functions (interpolation.ts).
import { diagnostic } from '../core/diagnostic.js';
import { suggestion } from '../core/errors.js';
import { argvCodeWords, CODE_HINT, ESCAPE_HINT, shellLine, unterminated, UNSAFE_HINT, type RefProblem } from './interpolation.js';
import { textRange, type KeyPath } from './positions.js';
import { refsOf } from './refs.js';
import { splitCommandSpans } from './command-line.js';
import type { RawStage } from './schema.js';
import { entryPath, list, type CheckContext } from './check-context.js';
import type { BuiltStage } from './stage.js';

/** Every stage's references, checked on the text. */
export function checkInterpolation(ctx: CheckContext, raw: Record<string, RawStage>, built: BuiltStage[]): void {
  for (const { stage } of built) {
    const r = raw[stage.name];
    if (!r) continue;
    // An expansion is reported as its template: the text is the template's (the same diagnostics are kept once).
    const label = stage.template?.name ?? stage.name;
    const names = Object.keys(stage.params);
    const report = (keyPath: KeyPath, text: string) => (p: RefProblem) => {
      const at = textRange(ctx.src, keyPath, p.start, p.end);
      const ref = text.slice(p.start, p.end);
      // A reference to no param is reported as that (its fix, often `$${`, settles both).
      if (p.kind !== 'unterminated' && !Object.hasOwn(stage.params, ref.slice(2, -1))) return;
      if (p.kind === 'unterminated') ctx.out.add(diagnostic('unknown-interpolation', at, `stage \`${label}\`: ${p.why}`, `close it with \`}\`; ${ESCAPE_HINT}`));
      else ctx.out.add(diagnostic('unsafe-interpolation', at, `stage \`${label}\`: \`${ref}\` cannot be put into this command safely: ${p.why}`, p.kind === 'code' ? CODE_HINT : UNSAFE_HINT));
    };
    const checkNames = (keyPath: KeyPath, text: string) => {
      for (const ref of refsOf(text)) {
        if (Object.hasOwn(stage.params, ref.name)) continue;
        ctx.out.add(
          diagnostic(
            'unknown-interpolation',
            textRange(ctx.src, keyPath, ref.start, ref.end),
            `stage \`${label}\`: \`\${${ref.name}}\` names no param of this stage${suggestion(ref.name, names)}`,
            `${names.length ? `its params are: ${names.join(', ')} (own, global, or listed in \`uses\`)` : "declare it under the stage's `params:` or the global `params:`"}; ${ESCAPE_HINT}`,
          ),
        );
      }
    };
    const plain = (keyPath: KeyPath, text: string) => {
      checkNames(keyPath, text);
      unterminated(text).forEach(report(keyPath, text));
    };
    list(r.deps).forEach((d, i) => plain(entryPath(stage.name, 'deps', r.deps, i), d));
    for (const [k, v] of Object.entries(r.env ?? {})) if (typeof v === 'string') plain(['stages', stage.name, 'env', k], v);
    checkCommand(stage.name, r, plain, report);
  }
}

function checkCommand(name: string, r: RawStage, plain: (keyPath: KeyPath, text: string) => void, report: (keyPath: KeyPath, text: string) => (p: RefProblem) => void): void {
  if (r.cmd === undefined) return;
  if (typeof r.cmd !== 'string') {
    r.cmd.forEach((w, i) => plain(['stages', name, 'cmd', i], w));
    for (const { index, why } of argvCodeWords(r.cmd)) {
      const w = r.cmd[index];
      refsOf(w).forEach((ref) => report(['stages', name, 'cmd', index], w)({ start: ref.start, end: ref.end, kind: 'code', why }));
    }
    return;
  }
  const keyPath = ['stages', name, 'cmd'];
  plain(keyPath, r.cmd);
  if (r.shell) {
    shellLine(r.cmd).problems.filter((p) => p.kind !== 'unterminated').forEach(report(keyPath, r.cmd));
    return;
  }
  let spans;
  try {
    spans = splitCommandSpans(r.cmd);
  } catch {
    return; // reported as `cmd-syntax` by the stage's own check
  }
  for (const { index, why } of argvCodeWords(spans.map((s) => s.word))) {
    const { start, end } = spans[index];
    refsOf(r.cmd.slice(start, end)).forEach((ref) => report(keyPath, r.cmd as string)({ start: start + ref.start, end: start + ref.end, kind: 'code', why }));
  }
}
