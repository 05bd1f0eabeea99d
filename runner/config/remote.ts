// `remote:` — where the remote cache is, and whether `pipeline run` pulls from and pushes to it by default.
//   remote: s3://team-cache/housing                     (a string: the url; run pulls/pushes only when asked)
//   remote: {url: s3://team-cache/housing, pull: true, push: true}
// The url is checked here for its form only (a known scheme, a bucket for s3, a URL the parser takes without
// ambiguity); PIPELINE_REMOTE overrides it. Credentials in it (`user:password@`) work for HTTP but are a warning of
// `pipeline validate`: pipeline.yaml is committed; they belong in the environment. URLs are only ever shown through
// displayUrl (core/url-credentials.ts).
import { diagnostic, type Diagnostic } from '../core/diagnostic.js';
import { displayUrl, hasUrlCredentials, parseUrl, urlScheme } from '../core/url-credentials.js';
import type { CheckContext } from './check-context.js';
import type { RawPipeline } from './schema.js';
import type { PipelineConfig, RemoteSetting } from './types.js';

const SCHEMES = ['s3', 'http', 'https', 'file'];

/** Why a remote url cannot work, or undefined when its form is fine. */
export function remoteUrlProblem(url: string): string | undefined {
  const scheme = urlScheme(url);
  if (scheme === undefined) return url.trim() === '' ? 'is empty' : undefined;
  if (!SCHEMES.includes(scheme)) return `has the unknown scheme \`${scheme}\``;
  const parsed = parseUrl(url);
  if (!parsed.ok) return `${parsed.problem} (${parsed.hint})`;
  if (scheme === 's3' && !parsed.url.hostname) return 'names no bucket';
  if (scheme === 's3' && (parsed.user !== undefined || parsed.password !== undefined)) return 'carries credentials: an S3 remote takes them from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY';
  if ((scheme === 'http' || scheme === 'https') && !parsed.url.hostname) return 'names no host';
  return undefined;
}

export function buildRemote(ctx: CheckContext, raw: RawPipeline['remote']): RemoteSetting | undefined {
  if (raw === undefined) return undefined;
  const setting: RemoteSetting = typeof raw === 'string' ? { url: raw, pull: false, push: false } : { url: raw.url, pull: raw.pull ?? false, push: raw.push ?? false };
  const problem = remoteUrlProblem(setting.url);
  if (problem !== undefined) {
    const at = ctx.src.valueRange(typeof raw === 'string' ? ['remote'] : ['remote', 'url']);
    ctx.out.add(
      diagnostic(
        'bad-remote',
        at,
        `remote \`${displayUrl(setting.url)}\` ${problem}`,
        'use s3://bucket/prefix, http(s)://host[:port]/prefix, file:///path or a folder path relative to the workspace',
      ),
    );
    return undefined;
  }
  return setting;
}

/** `pipeline validate`'s warnings about `remote:`: credentials written in pipeline.yaml. */
export function remoteWarnings(config: PipelineConfig): Diagnostic[] {
  const url = config.remote?.url;
  if (url === undefined || !hasUrlCredentials(url)) return [];
  const at = config.rangeOf?.(['remote', 'url']) ?? { file: config.file, line: 1, col: 1 };
  return [
    {
      ...diagnostic(
        'remote-credentials',
        at,
        `remote \`${displayUrl(url)}\` carries credentials (user:password@) in pipeline.yaml, which is committed`,
        'remove them from the URL and set PIPELINE_REMOTE_USER and PIPELINE_REMOTE_PASSWORD (or PIPELINE_REMOTE_TOKEN) in the environment',
      ),
      severity: 'warning',
    },
  ];
}
