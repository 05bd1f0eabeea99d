// One transfer through the engine, timed inside the process (bench/figures/remote-wire.ts runs it as a child):
// the modules are loaded and the remote opened before the clock starts, so what is timed is what `pipeline push` and
// `pipeline pull` do to move a result — connections, requests, bytes, hashing and verifying — without Node.js's
// start and the CLI's. Prints one JSON line: {ms, objects, bytes}.
//
//   node --import tsx bench/figures/remote-wire-driver.ts '{"op":"push","remote":URL,"cache":DIR,"fingerprint":FP}'
//   … '{"op":"pull", …}'   into an empty store at DIR: the record and every object it names, verified
import { Cache } from '../../runner/store/cache.js';
import { remoteFromConfig } from '../../runner/store/remote/open.js';
import { RemoteSync, emptyStats } from '../../runner/store/remote/transfer.js';

interface Spec {
  op: 'push' | 'pull';
  remote: string;
  cache: string;
  fingerprint: string;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as Spec;
  const remote = remoteFromConfig(spec.remote, process.cwd());
  if (!remote) throw new Error('no remote');
  const cache = new Cache(spec.cache);
  const sync = new RemoteSync(remote, cache);
  const stats = emptyStats();
  // The S3 backend loads the SDK on its first request: loaded here, before the clock, like every other module.
  if (spec.remote.startsWith('s3:')) await import('@aws-sdk/client-s3');
  let ok: boolean;
  let t0: number;
  if (spec.op === 'push') {
    const record = cache.readRun(spec.fingerprint);
    if (!record) throw new Error(`no run record ${spec.fingerprint} in ${spec.cache}`);
    t0 = performance.now();
    ok = await sync.pushResult(record, stats);
  } else {
    t0 = performance.now();
    ok = (await sync.pullResult(spec.fingerprint, 'bench', stats, { requireRecord: true })) !== undefined;
  }
  const ms = performance.now() - t0;
  if (!ok || stats.refused.length > 0 || stats.missing.length > 0) throw new Error(`${spec.op} failed: ${JSON.stringify(stats)}`);
  process.stdout.write(`${JSON.stringify({ ms, objects: stats.objects, bytes: stats.bytes })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
