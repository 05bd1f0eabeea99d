// The remote a workspace names (PIPELINE_REMOTE, else `remote:` in pipeline.yaml) and whether runs pull and push
// through it: read by every run, so it is apart from the backends (open.ts), which load only when a remote is used.

/** The remote a run uses and whether it pulls/pushes by default: `remote:` of pipeline.yaml, its url overridden by PIPELINE_REMOTE. */
export function remoteSettingOf(
  setting: { url: string; pull: boolean; push: boolean } | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; pull: boolean; push: boolean } | undefined {
  const url = env.PIPELINE_REMOTE || setting?.url;
  if (!url) return undefined;
  return { url, pull: setting?.pull ?? false, push: setting?.push ?? false };
}
