// `remote:` — where the remote cache is, and whether `pipeline run` pulls from and pushes to it by default.
//   remote: s3://team-cache/housing                     (a string: the url; run pulls/pushes only when asked)
//   remote: {url: s3://team-cache/housing, pull: true, push: true}
// The url is checked here for its form only (a known scheme, a bucket for s3); PIPELINE_REMOTE overrides it.
import { diagnostic } from '../core/diagnostic.js';
import type { CheckContext } from './check-context.js';
import type { RawPipeline } from './schema.js';
import type { RemoteSetting } from './types.js';

const SCHEMES = ['s3', 'http', 'https', 'file'];

/** Why a remote url cannot work, or undefined when its form is fine. */
export function remoteUrlProblem(url: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return url.trim() === '' ? 'is empty' : undefined;
  if (!SCHEMES.includes(scheme)) return `has the unknown scheme \`${scheme}\``;
  if (scheme === 's3' && !/^s3:\/\/[^/?#]+/i.test(url)) return 'names no bucket';
  if ((scheme === 'http' || scheme === 'https') && !/^https?:\/\/[^/?#]+/i.test(url)) return 'names no host';
  return undefined;
}

/** Credentials are never shown: `user:password@` and the query are removed. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//').replace(/\?.*$/, '');
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
        `remote \`${redactUrl(setting.url)}\` ${problem}`,
        'use s3://bucket/prefix, http(s)://host[:port]/prefix, file:///path or a folder path relative to the workspace',
      ),
    );
    return undefined;
  }
  return setting;
}
