// What `pipeline init` writes: a commented starter pipeline with one `cmd:` stage and one `module:` stage.
// Kept apart from the command so the text reads as the files it becomes.

export const STARTER_CONFIG = `# yaml-language-server: $schema=./node_modules/pipeline-dag/pipeline.schema.json
# A starter pipeline written by \`pipeline init\`. Run it with \`npx pipeline run\`; run it again and nothing
# executes (every stage is fresh); change a param, an input or a stage's code and only what it affects runs again.
#   npx pipeline status          each stage fresh or stale, and why
#   npx pipeline dag             the stage graph
#   npx pipeline help run        the options of a command
version: 1

# Global params: every stage sees them (a stage's own params override them; \`--set key=value\` overrides both).
params:
  name: world

stages:
  # A \`cmd:\` stage runs a program (an argv, split like a shell would, no shell unless \`shell: true\`).
  # It gets its params as JSON in $PIPELINE_PARAMS; \`deps\` lists the files it reads (its code included),
  # \`outs\` the files or folders it writes. Their parent folders exist when it starts.
  greet:
    desc: Write a greeting (a cmd stage)
    cmd: node -e "const p = JSON.parse(process.env.PIPELINE_PARAMS); require('node:fs').writeFileSync('build/greeting.txt', p.greeting)"
    params:
      greeting: Hello
    outs: [build/greeting.txt]

  # A \`module:\` stage is a TypeScript (or JavaScript) module whose default export receives a StageContext:
  # ctx.params, ctx.inputs[stage][out] (the outs of the stages it needs), ctx.outs[out], ctx.log, ctx.signal.
  # Its code (the module and every local module it imports) is part of its fingerprint.
  hello:
    desc: Address the greeting to \`name\` (a module stage)
    module: stages/hello.ts
    needs: [greet]
    outs: [build/hello.txt, build/hello-metrics.json]
    metrics: [build/hello-metrics.json]
`;

export const STARTER_MODULE_PATH = 'stages/hello.ts';

export const STARTER_MODULE = `// A \`module:\` stage: pipeline runs the default export in a child process with a StageContext.
// The types come from the package (\`import type\`: nothing of it is loaded at run time).
import { readFile, writeFile } from 'node:fs/promises';
import type { StageContext } from 'pipeline-dag/stage';

export default async function hello(ctx: StageContext): Promise<void> {
  // The outs of the stages this one \`needs\`, by stage and by the path written in pipeline.yaml.
  const greeting = (await readFile(ctx.inputs.greet['build/greeting.txt'], 'utf8')).trim();
  const text = \`\${greeting}, \${String(ctx.params.name)}!\`;
  await writeFile(ctx.outs['build/hello.txt'], \`\${text}\\n\`);
  // Numbers in a \`metrics:\` file are what \`pipeline metrics\` shows (JSON or YAML).
  await writeFile(ctx.outs['build/hello-metrics.json'], \`\${JSON.stringify({ characters: text.length })}\\n\`);
  ctx.log.info(text);
}
`;
