// What `pipeline ci generate` checks beyond the shape of `ci:` (settings.ts), each problem a diagnostic at its
// place, all of them in one pass: job ids (of stages and of `ci.jobs`), the `needs` and `artifacts` of the extra
// jobs, outs that cannot travel between jobs, credentials in `ci.env`, job timeouts shorter than a stage's own.
import { Dag } from '../core/dag.js';
import { diagnostic, MAX_DIAGNOSTICS, related, type DiagnosticCode, type DiagnosticList, type Range } from '../core/diagnostic.js';
import { suggestion } from '../core/errors.js';
import { StageNames } from '../config/stage-names.js';
import type { PipelineConfig } from '../config/types.js';
import { WRITE_SECRET_VARS } from './remote-cache.js';
import { locator, type CiSettings } from './settings.js';
import { SETUP_MINUTES } from './stage-job.js';
import { JOB_ID, stageJobId } from './steps.js';

/** What the checks work with: the config, its settings, the stage graph, where diagnostics go. */
export interface CiCheck {
  config: PipelineConfig;
  ci: CiSettings;
  stageDag: Dag;
  out: DiagnosticList;
}

function add(c: Pick<CiCheck, 'config' | 'out'>, code: DiagnosticCode, path: (string | number)[], message: string, hint: string, part: 'key' | 'value' = 'value'): void {
  c.out.add(diagnostic(code, locator(c.config)(path, part), message, hint));
}

/** The checks that need only the config: stage job ids and outs. Returns name → job id for `test` and every stage. */
export function checkStages(c: Pick<CiCheck, 'config' | 'out'>): Map<string, string> {
  const ids = new Map<string, string>([['test', 'test']]);
  const owner = new Map<string, string>([['test', 'the test job']]);
  for (const stage of c.config.stages) {
    const id = stageJobId(stage.name);
    if (owner.has(id)) {
      c.out.add(diagnostic('ci-job-id', stage.pos, `stage \`${stage.name}\` would get the CI job id \`${id}\`, which ${owner.get(id)} already has`, 'rename the stage'));
      continue;
    }
    ids.set(stage.name, id);
    owner.set(id, `stage \`${stage.name}\``);
  }
  for (const stage of c.config.stages)
    stage.outs.forEach((out, i) => {
      if (out.includes('${{') || /[\r\n]/.test(out))
        add(c, 'ci-out-name', ['stages', stage.name, 'outs', i], `out \`${printable(out)}\` of stage \`${stage.name}\` cannot be carried between CI jobs (it contains \`\${{\` or a line break)`, 'rename the out');
    });
  return ids;
}

/** A text with its control characters escaped (`\n`, `\u001b`), for a message. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

/** Every check of the settings. */
export function checkSettings(c: CiCheck, ids: Map<string, string>): void {
  checkJobIds(c, ids);
  checkJobNeeds(c, ids);
  checkArtifacts(c);
  checkEnvSecrets(c);
  checkTimeouts(c);
}

/** Extra job ids are valid GitHub ids, and none is the id of the test job or of a stage job. */
function checkJobIds(c: CiCheck, ids: Map<string, string>): void {
  const taken = new Map([...ids].map(([name, id]) => [id, name === 'test' ? 'the test job' : `stage \`${name}\``]));
  for (const id of Object.keys(c.ci.jobs ?? {})) {
    if (!JOB_ID.test(id))
      add(c, 'ci-job-id', ['ci', 'jobs', id], `CI job id \`${id}\` is not valid`, 'a job id starts with a letter or `_` and holds only letters, digits, `_` and `-`');
    else if (taken.has(id)) add(c, 'ci-job-id', ['ci', 'jobs', id], `CI job \`${id}\` clashes with ${taken.get(id)}`, 'pick another job id');
  }
}

/** Extra jobs need known jobs or stages (a template: all its expansions), not themselves, and form no cycle. */
function checkJobNeeds(c: CiCheck, ids: Map<string, string>): void {
  const jobs = c.ci.jobs ?? {};
  const known = [...ids.keys(), ...Object.keys(c.config.templates ?? {}), ...Object.keys(jobs)];
  for (const [id, spec] of Object.entries(jobs)) {
    (spec.needs ?? []).forEach((need, i) => {
      if (known.includes(need) && need !== id) return;
      add(
        c,
        'unknown-need',
        ['ci', 'jobs', id, 'needs', i],
        need === id ? `CI job \`${id}\` needs itself` : `CI job \`${id}\` needs unknown job or stage \`${need}\`${suggestion(need, known)}`,
        'list stage names, `test`, or other jobs of ci.jobs',
      );
    });
  }
  const jobIds = Object.keys(jobs);
  const jobDag = new Dag(jobIds, (id) => (jobs[id]?.needs ?? []).filter((n) => n !== id));
  for (const cycle of jobDag.findCycles(MAX_DIAGNOSTICS)) {
    const closing = cycle[cycle.length - 1];
    const needAt = (from: string, to: string): Range => locator(c.config)(['ci', 'jobs', from, 'needs', (jobs[from].needs ?? []).indexOf(to)]);
    c.out.add(
      diagnostic(
        'cycle',
        locator(c.config)(['ci', 'jobs', closing, 'needs']),
        `CI jobs form a cycle: ${[...cycle, cycle[0]].join(' → ')}`,
        'remove one of these needs',
        cycle.slice(0, -1).map((n, i) => related(needAt(n, cycle[i + 1]), `\`${n}\` needs \`${cycle[i + 1]}\``)),
      ),
    );
  }
}

/** An extra job downloads the outs of known stages (a template: each expansion) that come before it and have outs. */
function checkArtifacts(c: CiCheck): void {
  const jobs = c.ci.jobs ?? {};
  const jobDag = new Dag(Object.keys(jobs), (id) => jobs[id]?.needs ?? []);
  const names = StageNames.of(c.config);
  /** Every job and stage that job `id` comes after. */
  const upstream = (id: string): Set<string> => {
    const before = new Set<string>();
    for (const job of [id, ...jobDag.ancestors([id])])
      for (const need of jobs[job]?.needs ?? []) {
        before.add(need);
        if (jobs[need]) continue;
        for (const n of names.meaning(need) ?? []) for (const u of [n, ...c.stageDag.ancestors([n])]) before.add(u);
      }
    return before;
  };
  for (const [id, spec] of Object.entries(jobs)) {
    const before = upstream(id);
    (spec.artifacts ?? []).forEach((name, i) => {
      const where = ['ci', 'jobs', id, 'artifacts', i];
      const meant = names.meaning(name);
      if (meant === undefined) {
        add(c, 'unknown-stage', where, `CI job \`${id}\` downloads the outs of unknown stage \`${name}\`${suggestion(name, names.all())}`, `stages: ${names.listing()}`);
        return;
      }
      const stage = meant.find((s) => !before.has(s));
      if (stage !== undefined)
        add(c, 'ci-artifact', where, `CI job \`${id}\` downloads the outs of \`${stage}\`, which is not upstream of it`, `add \`${name}\` (or a stage after it) to \`ci.jobs.${id}.needs\``);
      else if (meant.every((s) => c.config.stages.find((x) => x.name === s)?.outs.length === 0))
        add(c, 'ci-artifact', where, `stage \`${name}\` has no outs to download`, 'remove it from artifacts');
    });
  }
}

/**
 * With a remote, its credentials and signing key are never in `ci.env` or `ci.test.env`: those reach every job,
 * pull requests included (and `npm ci` runs the packages' install scripts there).
 */
function checkEnvSecrets(c: CiCheck): void {
  if (!c.config.remote) return;
  const where: [string[], Record<string, unknown> | undefined][] = [
    [['ci', 'env'], c.ci.env],
    [['ci', 'test', 'env'], c.ci.test?.env],
  ];
  for (const [at, env] of where)
    for (const name of Object.keys(env ?? {}).filter((n) => WRITE_SECRET_VARS.includes(n)))
      add(
        c,
        'ci-secret-env',
        [...at, name],
        `\`${at.join('.')}.${name}\` would hand a credential of the remote cache to every job, pull requests included`,
        'remove it: stage jobs take the remote\'s credentials and signing key from the repository\'s secrets on push events only',
        'key',
      );
}

/** A stage's job timeout, when set for the stage, leaves the stage its own `timeout:` and the setup's minutes. */
function checkTimeouts(c: CiCheck): void {
  const names = StageNames.of(c.config);
  for (const [name, minutes] of Object.entries(c.ci['stage-timeout-minutes'] ?? {})) {
    // A template's setting holds for its expansions; the longest `timeout:` among them decides.
    const timeouts = (names.meaning(name) ?? []).map((n) => c.config.stages.find((s) => s.name === n)?.timeoutMs ?? 0);
    const stage = { timeoutMs: timeouts.length > 0 && Math.max(...timeouts) > 0 ? Math.max(...timeouts) : undefined };
    if (stage.timeoutMs === undefined) continue;
    const needed = Math.ceil(stage.timeoutMs / 60_000) + SETUP_MINUTES;
    if (minutes < needed)
      add(
        c,
        'invalid-value',
        ['ci', 'stage-timeout-minutes', name],
        `\`ci.stage-timeout-minutes.${name}\` is ${minutes}, shorter than the stage's own \`timeout\` (${Math.ceil(stage.timeoutMs / 60_000)} min) plus ${SETUP_MINUTES} min of setup: GitHub would cancel the job first`,
        `set it to at least ${needed}, or leave it out (the job's timeout then follows the stage's)`,
      );
  }
}
