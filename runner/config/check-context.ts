// What every check of pipeline.yaml works with: the file (for positions), the workspace root, the list the
// diagnostics go to, and for one stage its raw keys with their places (StageInput). The checks of one stage, one
// function per key group, take a StageInput (stage.ts assembles them); the checks across stages take the context.
import { diagnostic, type DiagnosticCode, type DiagnosticList, type Range } from '../core/diagnostic.js';
import type { KeyPath, Source } from './positions.js';
import type { RawStage } from './schema.js';

/** What a check needs: the file (for positions), the workspace root, and where diagnostics go. */
export interface CheckContext {
  src: Source;
  root: string;
  out: DiagnosticList;
}

export function report(ctx: CheckContext, code: DiagnosticCode, at: Range, message: string, hint?: string): void {
  ctx.out.add(diagnostic(code, at, message, hint));
}

export function list(v: string | string[] | null | undefined): string[] {
  return v === undefined || v === null ? [] : typeof v === 'string' ? [v] : v;
}

/** Key path of entry `i` of a field that may be written as a single string or as a list. */
export function entryPath(stage: string, field: string, value: string | string[] | null | undefined, i: number): KeyPath {
  return typeof value === 'string' ? ['stages', stage, field] : ['stages', stage, field, i];
}

export function isInside(child: string, parent: string): boolean {
  return child.startsWith(parent + '/');
}

/** The list fields of a stage that may be written as one string. */
type ListField = 'deps' | 'outs' | 'metrics' | 'needs' | 'passEnv';

/** One stage as written (its shape checked), with the places of its keys and a way to report a mistake in it. */
export class StageInput {
  /** The name messages give: the stage's, or for an expansion its template's (what the file shows). */
  readonly label: string;

  constructor(
    readonly ctx: CheckContext,
    readonly name: string,
    readonly raw: RawStage,
    label?: string,
  ) {
    this.label = label ?? name;
  }

  /** Range of the value at a key path inside the stage. */
  at(...p: KeyPath): Range {
    return this.ctx.src.valueRange(['stages', this.name, ...p]);
  }

  /** Range of the key at a key path inside the stage. */
  keyAt(...p: KeyPath): Range {
    return this.ctx.src.keyRange(['stages', this.name, ...p]);
  }

  /** Range of entry `i` of a list field (the field itself when it is written as one string). */
  entryAt(field: ListField, i: number): Range {
    return this.ctx.src.valueRange(entryPath(this.name, field, this.raw[field], i));
  }

  /** `stage \`NAME\`: what`, the start of every message about this stage. */
  subject(what: string): string {
    return `stage \`${this.label}\`: ${what}`;
  }

  fail(code: DiagnosticCode, where: Range, detail: string, hint?: string): void {
    report(this.ctx, code, where, this.subject(detail), hint);
  }
}
