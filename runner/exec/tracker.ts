// Every stage of a run finishes exactly once (as turborepo's task tracker moves each task from started to one final
// state): the events of a run pass through a tracker that refuses a stage starting twice, finishing twice, being
// retried when it has not started or has already finished, and a second end of the run. A refusal is a bug in the
// engine, never a user's mistake: it is thrown as an internal error, before any listener records it.
import { unreachable } from '../plan/reasons.js';
import type { RunEvent } from './events.js';

export class TrackerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrackerError';
  }
}

type Course = { state: 'started'; attempt: number } | { state: 'finished' };

export class StageTracker {
  private readonly courses = new Map<string, Course>();
  private runFinished = false;

  /** Let an event through, or throw a TrackerError when it would break a stage's course. */
  check(event: RunEvent): void {
    switch (event.type) {
      case 'stage-started':
        return this.start(event.name);
      case 'stage-retry':
        return this.retry(event.name, event.attempt);
      case 'stage-finished':
        return this.finish(event.result.name);
      case 'run-finished':
        if (this.runFinished) throw new TrackerError('the run finished twice');
        this.runFinished = true;
        return;
      case 'lock-wait':
      case 'warning':
      case 'remote-transfer':
      case 'interrupt':
      case 'hosts':
      case 'url-check':
      case 'watch-waiting':
      case 'watch-change':
      case 'watch-invalid':
        // What the session says around the stages: no course to follow.
        return;
      default:
        return unreachable(event);
    }
  }

  /** Whether a stage has finished in this run. */
  finished(name: string): boolean {
    return this.courses.get(name)?.state === 'finished';
  }

  private start(name: string): void {
    const course = this.courses.get(name);
    if (course) throw new TrackerError(`stage \`${name}\` started again after it ${course.state === 'finished' ? 'finished' : 'started'}`);
    this.courses.set(name, { state: 'started', attempt: 1 });
  }

  private retry(name: string, attempt: number): void {
    const course = this.courses.get(name);
    if (course?.state !== 'started') throw new TrackerError(`stage \`${name}\` retried ${course ? 'after it finished' : 'before it started'}`);
    if (attempt !== course.attempt + 1) throw new TrackerError(`stage \`${name}\`: attempt ${attempt} follows attempt ${course.attempt}`);
    this.courses.set(name, { state: 'started', attempt });
  }

  private finish(name: string): void {
    if (this.courses.get(name)?.state === 'finished') throw new TrackerError(`stage \`${name}\` finished twice`);
    // Fresh, restored and blocked stages finish without starting.
    this.courses.set(name, { state: 'finished' });
  }
}
