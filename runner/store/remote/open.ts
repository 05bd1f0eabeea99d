// Choosing a remote: `s3://bucket/prefix`, `http(s)://host[:port][/prefix]`, or a folder (a path, relative to the
// workspace, or a file:// URL). PIPELINE_REMOTE overrides the `remote:` setting of pipeline.yaml.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../core/errors.js';
import type { Backend } from './backend.js';
import { FolderBackend } from './folder.js';
import { HttpBackend } from './http.js';
import { Remote, remoteOptionsFromEnv } from './remote.js';
import { S3Backend } from './s3.js';

export function backendFor(urlOrPath: string, root: string): Backend {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(urlOrPath)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return new FolderBackend(path.resolve(root, urlOrPath));
    case 'file':
      return new FolderBackend(fileURLToPath(urlOrPath));
    case 'http':
    case 'https':
      return new HttpBackend(urlOrPath);
    case 's3': {
      const backend = new S3Backend(urlOrPath);
      if (!backend.bucket) throw new UsageError(`remote \`${urlOrPath}\` names no bucket`, 'write it as s3://bucket[/prefix]');
      return backend;
    }
    default:
      throw new UsageError(
        `remote \`${urlOrPath.replace(/\/\/[^@/]*@/, '//')}\`: unknown scheme \`${scheme}\``,
        'use s3://bucket/prefix, http(s)://host/prefix, file:///path or a folder path',
      );
  }
}

/**
 * The remote for a `remote:` setting (or PIPELINE_REMOTE, which overrides it), or undefined when neither is set.
 * Signing and retries come from the environment (PIPELINE_REMOTE_SIGNING_KEY, PIPELINE_REMOTE_RETRIES).
 */
export function remoteFromConfig(urlOrPath: string | undefined, root: string, env: NodeJS.ProcessEnv = process.env): Remote | undefined {
  const chosen = env.PIPELINE_REMOTE || urlOrPath;
  if (!chosen) return undefined;
  return new Remote(backendFor(chosen, root), remoteOptionsFromEnv(env));
}

/** The remote a run uses and whether it pulls/pushes by default: `remote:` of pipeline.yaml, its url overridden by PIPELINE_REMOTE. */
export function remoteSettingOf(
  setting: { url: string; pull: boolean; push: boolean } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; pull: boolean; push: boolean } | undefined {
  const url = env.PIPELINE_REMOTE || setting?.url;
  if (!url) return undefined;
  return { url, pull: setting?.pull ?? false, push: setting?.push ?? false };
}
