// What a stage name means wherever one is accepted (`needs:`, `run STAGE…`, `status`, `--set STAGE.key`, `ci:`,
// `push`/`pull`, `fingerprint`): a stage's own name means that stage; a template's name (a stage with `matrix:`)
// means all its expansions; an expansion's name means that one.
import type { PipelineConfig } from './types.js';

export class StageNames {
  private readonly stages: Set<string>;
  private readonly templates: Map<string, string[]>;

  constructor(stages: Iterable<string>, templates: Record<string, string[]> = {}) {
    this.stages = new Set(stages);
    this.templates = new Map(Object.entries(templates));
  }

  static of(config: Pick<PipelineConfig, 'stages' | 'templates'>): StageNames {
    return new StageNames(
      config.stages.map((s) => s.name),
      config.templates,
    );
  }

  /** The stages a name means, in pipeline order; undefined when it names none. */
  meaning(name: string): string[] | undefined {
    if (this.stages.has(name)) return [name];
    return this.templates.get(name);
  }

  isTemplate(name: string): boolean {
    return this.templates.has(name) && !this.stages.has(name);
  }

  /** The expansions of a template (empty for any other name). */
  expansions(name: string): string[] {
    return this.isTemplate(name) ? this.templates.get(name)! : [];
  }

  /** Every name accepted: stage names, then template names (for did-you-mean and listings). */
  all(): string[] {
    return [...this.stages, ...[...this.templates.keys()].filter((t) => !this.stages.has(t))];
  }

  /** The names to list in a hint, in pipeline order: stages, and each template as `name (its expansions)`. */
  listing(): string {
    const templateOf = new Map([...this.templates].flatMap(([t, xs]) => xs.map((x) => [x, t] as const)));
    const shown = new Set<string>();
    const out: string[] = [];
    for (const s of this.stages) {
      const t = templateOf.get(s);
      if (t === undefined) out.push(s);
      else if (!shown.has(t)) {
        shown.add(t);
        out.push(`${t} (${this.templates.get(t)!.join(', ')})`);
      }
    }
    return out.join(', ');
  }
}
