// What a run tells the user around its stages (exec/events.ts `Notice`), as sentences: the one place each notice
// and warning is worded, for the terminal (`warning: …` on stderr) and for `run --json` (`warnings`, `events`).
import type { Notice, Warning } from '../exec/events.js';
import { unreachable } from '../plan/reasons.js';

/** How a notice is shown: a warning, a plain line, or a line only PIPELINE_DEBUG shows. */
export type NoticeLevel = 'warning' | 'info' | 'debug';

export interface NoticeText {
  level: NoticeLevel;
  /** One or more lines, without the `warning: ` prefix the terminal puts before a warning. */
  text: string;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

export function formatWarning(warning: Warning): string {
  switch (warning.code) {
    case 'lock-entry-ignored':
      return `${warning.file}: entry of stage \`${warning.stage}\` ignored: ${warning.problem}; the stage is checked again`;
    case 'leftover-stopped': {
      const by = `of stage \`${warning.stage}\` left running by an earlier run (pid ${warning.runner}) that was killed`;
      if (warning.jobId !== undefined) return `cancelled Slurm job ${warning.jobId.includes('.') ? 'step ' : ''}${warning.jobId} ${by}`;
      const n = warning.processes ?? 0;
      return `stopped ${n} process${n === 1 ? '' : 'es'} ${by}`;
    }
    case 'leftover-scratch':
      return `removed ${warning.folder}: the scratch copies of an \`exp run\` (pid ${warning.runner}) that was killed`;
    case 'remote-refused':
      return `remote: ${warning.detail}; the stage ran instead`;
    case 'remote-incomplete':
      return `remote: ${warning.detail}`;
    case 'remote-failed': {
      const skipped = [
        ...(warning.notPulled.length > 0 ? [`not pulled: ${warning.notPulled.join(', ')}`] : []),
        ...(warning.notPushed.length > 0 ? [`not pushed: ${warning.notPushed.join(', ')}`] : []),
      ];
      return `remote: ${warning.message}; the run went on without the remote${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}`;
    }
    case 'remote-lookup':
    case 'url-unreachable':
      return warning.message;
    case 'watch-writes-deps':
      return `stage \`${warning.stage}\` writes files it reads (${warning.paths.join(', ')}): its own writes are not watched; declare them as outs or write elsewhere`;
    default:
      return unreachable(warning);
  }
}

export function formatNotice(notice: Notice): NoticeText {
  switch (notice.type) {
    case 'lock-wait':
      return { level: 'info', text: `waiting for another run of this workspace to finish (pid ${notice.pid}, started ${notice.started})…` };
    case 'warning':
      return { level: 'warning', text: formatWarning(notice.warning) };
    case 'remote-transfer': {
      const [verb, preposition] = notice.direction === 'pull' ? ['pulled', 'from'] : ['pushed', 'to'];
      return { level: 'info', text: `remote: ${verb} ${notice.results} result(s) (${notice.objects} objects, ${mib(notice.bytes)}) ${preposition} ${notice.remote}` };
    }
    case 'interrupt':
      return { level: 'info', text: `${notice.signal}: ${interruptText(notice.stopping)}` };
    case 'hosts':
      return { level: 'debug', text: `pipeline: ${notice.started} stage hosts started ahead, ${notice.taken} of them used` };
    case 'url-check':
      return { level: 'info', text: notice.message };
    case 'watch-waiting':
      return { level: 'info', text: `watching ${notice.files} file${notice.files === 1 ? '' : 's'} for changes (Ctrl-C to stop)…` };
    case 'watch-change': {
      const cancelled = notice.cancelled?.length ? `; stopping ${notice.cancelled.join(', ')} to run again` : '';
      return { level: 'info', text: `changed: ${listed(notice.paths)}${cancelled}` };
    }
    case 'watch-invalid':
      return { level: 'info', text: `${notice.text.trimEnd()}\nwaiting for the next save…` };
    default:
      return unreachable(notice);
  }
}

/** At most five paths, then how many more. */
function listed(paths: readonly string[]): string {
  return paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`;
}

function interruptText(stopping: Extract<Notice, { type: 'interrupt' }>['stopping']): string {
  switch (stopping) {
    case 'stages':
      return 'stopping running stages (again to quit at once)…';
    case 'slurm-jobs':
      return 'stopping running stages (cancelling their Slurm jobs) (again to quit at once)…';
    case 'work':
      return 'stopping…';
    default:
      return unreachable(stopping);
  }
}

/** A notice as the terminal prints it on stderr: a warning prefixed, an interruption on a line of its own. */
export function noticeLine(notice: Notice): string | undefined {
  const { level, text } = formatNotice(notice);
  if (level === 'debug' && !process.env.PIPELINE_DEBUG) return undefined;
  const lines = text.split('\n').map((l) => (level === 'warning' ? `warning: ${l}` : l));
  return `${notice.type === 'interrupt' ? '\n' : ''}${lines.join('\n')}\n`;
}
