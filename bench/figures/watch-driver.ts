// `pipeline watch` measured from outside, as a user's editor meets it (bench/figures/watch.ts runs this as a child,
// since figures are synchronous): the CLI is started with `--json` in a scratch workspace and its lines are the
// clock's handshakes. Prints one JSON line.
//
//   node --import tsx bench/figures/watch-driver.ts latency '{"dir":DIR,"cli":BIN,"edits":20}'
//     one stage reading data/dep.txt: each edit (new bytes, written 200 ms after the watcher settled) → the
//     `stage-started` line on stdout, and → the stage's process running (the first thing it does is note the time)
//   node --import tsx bench/figures/watch-driver.ts idle '{"dir":DIR,"cli":BIN,"files":1000,"seconds":10}'
//     one stage reading 1,000 files named one by one; once it waits, its CPU time (/proc/PID/stat utime+stime) over
//     an idle interval
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const now = () => performance.timeOrigin + performance.now();

class Lines {
  private buffer = '';
  readonly seen: { at: number; line: Record<string, unknown> }[] = [];
  private waiters: (() => void)[] = [];
  constructor(child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      const at = now();
      this.buffer += chunk.toString();
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        this.seen.push({ at, line: JSON.parse(this.buffer.slice(0, i)) as Record<string, unknown> });
        this.buffer = this.buffer.slice(i + 1);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.on('exit', () => this.waiters.splice(0).forEach((w) => w()));
  }
  /** The first line of `type` after index `from`. */
  async next(type: string, from: number): Promise<{ at: number; index: number }> {
    for (;;) {
      const index = this.seen.findIndex((s, i) => i >= from && s.line.type === type);
      if (index >= 0) return { at: this.seen[index].at, index };
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

function start(dir: string, cli: string): { child: ChildProcess; lines: Lines } {
  const child = spawn(process.execPath, [cli, 'watch', '--json'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, PIPELINE_CACHE_DIR: undefined } });
  return { child, lines: new Lines(child) };
}

const STAGE = `const fs = require('fs'); fs.appendFileSync('started.log', String(performance.timeOrigin + performance.now()) + '\\n');
fs.mkdirSync('build', { recursive: true }); fs.copyFileSync(process.argv[2], 'build/out.txt');`;

async function latency(spec: { dir: string; cli: string; edits: number }): Promise<unknown> {
  const { dir } = spec;
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  writeFileSync(path.join(dir, 'stage.js'), STAGE);
  writeFileSync(path.join(dir, 'data', 'dep.txt'), 'edit 0\n');
  writeFileSync(path.join(dir, 'pipeline.yaml'), 'version: 1\nstages:\n  edit:\n    cmd: node stage.js data/dep.txt\n    deps: [stage.js, data/dep.txt]\n    outs: [build/out.txt]\n');
  const { child, lines } = start(dir, spec.cli);
  const toEvent: number[] = [];
  const toProcess: number[] = [];
  try {
    let from = (await lines.next('watch-waiting', 0)).index + 1;
    for (let i = 1; i <= spec.edits; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const wrote = now();
      writeFileSync(path.join(dir, 'data', 'dep.txt'), `edit ${i}\n`);
      const started = await lines.next('stage-started', from);
      const waiting = await lines.next('watch-waiting', started.index);
      from = waiting.index + 1;
      toEvent.push(started.at - wrote);
      const log = readFileSync(path.join(dir, 'started.log'), 'utf8').trim().split('\n');
      toProcess.push(Number(log.at(-1)) - wrote);
    }
  } finally {
    child.kill('SIGINT');
  }
  return { toEvent, toProcess };
}

const ticks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
};

async function idle(spec: { dir: string; cli: string; files: number; seconds: number }): Promise<unknown> {
  const { dir } = spec;
  const names = Array.from({ length: spec.files }, (_, i) => `data/d${Math.floor(i / 100)}/f${i}.txt`);
  for (const n of names) {
    mkdirSync(path.dirname(path.join(dir, n)), { recursive: true });
    writeFileSync(path.join(dir, n), `${n}\n`);
  }
  writeFileSync(path.join(dir, 'pipeline.yaml'), `version: 1\nstages:\n  all:\n    cmd: [sh, -c, 'mkdir -p build && cat data/*/*.txt > build/all.txt']\n    deps:\n${names.map((n) => `      - ${n}\n`).join('')}    outs: [build/all.txt]\n`);
  const { child, lines } = start(dir, spec.cli);
  try {
    const waiting = await lines.next('watch-waiting', 0);
    const watched = Number(lines.seen[waiting.index].line.files);
    const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
    const t0 = now();
    const c0 = ticks(child.pid!);
    await new Promise((r) => setTimeout(r, spec.seconds * 1000));
    const c1 = ticks(child.pid!);
    const elapsed = (now() - t0) / 1000;
    return { watched, cpuSeconds: (c1 - c0) / hz, seconds: elapsed, percent: ((c1 - c0) / hz / elapsed) * 100, hz };
  } finally {
    child.kill('SIGINT');
  }
}

async function main(): Promise<void> {
  const [mode, json] = process.argv.slice(2);
  const spec = JSON.parse(json ?? '{}') as never;
  const result = mode === 'latency' ? await latency(spec) : mode === 'idle' ? await idle(spec) : undefined;
  if (result === undefined) throw new Error(`unknown mode ${mode}`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
