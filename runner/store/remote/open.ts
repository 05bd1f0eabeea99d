// Choosing a remote: `s3://bucket/prefix`, `http(s)://host[:port][/prefix]`, or a folder (a path, relative to the
// workspace, or a file:// URL). PIPELINE_REMOTE overrides the `remote:` setting of pipeline.yaml. Timeouts
// (PIPELINE_REMOTE_CONNECT_TIMEOUT, PIPELINE_REMOTE_TIMEOUT), retries and the signing key come from the environment.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../../core/errors.js';
import { displayUrl, urlScheme } from '../../core/url-credentials.js';
import { defaultTransport, type Backend, type Transport } from './backend.js';
import { FolderBackend } from './folder.js';
import { HttpBackend, httpAuthFromEnv } from './http.js';
import { Remote, remoteOptionsFromEnv, transportFromEnv } from './remote.js';
import { S3Backend } from './s3.js';

export { remoteSettingOf } from './setting.js';

export function backendFor(urlOrPath: string, root: string, transport: Transport = defaultTransport(), env: NodeJS.ProcessEnv = process.env): Backend {
  const scheme = urlScheme(urlOrPath);
  switch (scheme) {
    case undefined:
      return new FolderBackend(path.resolve(root, urlOrPath));
    case 'file': {
      let folder: string;
      try {
        folder = fileURLToPath(urlOrPath);
      } catch {
        throw new UsageError(`remote \`${displayUrl(urlOrPath)}\` is not a file URL of this machine`, 'write it as file:///absolute/path, or give the folder path itself');
      }
      return new FolderBackend(folder);
    }
    case 'http':
    case 'https':
      return new HttpBackend(urlOrPath, httpAuthFromEnv(env), transport);
    case 's3': {
      const backend = new S3Backend(urlOrPath, transport);
      if (!backend.bucket) throw new UsageError(`remote \`${displayUrl(urlOrPath)}\` names no bucket`, 'write it as s3://bucket[/prefix]');
      return backend;
    }
    default:
      throw new UsageError(
        `remote \`${displayUrl(urlOrPath)}\`: unknown scheme \`${scheme}\``,
        'use s3://bucket/prefix, http(s)://host/prefix, file:///path or a folder path',
      );
  }
}

/**
 * The remote for a `remote:` setting (or PIPELINE_REMOTE, which overrides it), or undefined when neither is set.
 * `signal`: the command's Ctrl-C / SIGTERM, which abandons every request in flight.
 */
export function remoteFromConfig(urlOrPath: string | undefined, root: string, env: NodeJS.ProcessEnv = process.env, signal?: AbortSignal): Remote | undefined {
  const chosen = env.PIPELINE_REMOTE || urlOrPath;
  if (!chosen) return undefined;
  const transport = transportFromEnv(env, signal);
  return new Remote(backendFor(chosen, root, transport, env), { ...remoteOptionsFromEnv(env), ...(signal ? { signal } : {}) });
}
