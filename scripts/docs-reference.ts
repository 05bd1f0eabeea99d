// `npm run docs`: writes the reference tables of docs/ from the code (scripts/docs-tables.ts).
// `npm run docs -- --check` writes nothing and exits 1 naming each table that differs.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sections, withSection } from './docs-tables.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const pages = new Map<string, string>();
const stale: string[] = [];
for (const section of sections(root)) {
  const file = path.join(root, section.page);
  const before = pages.get(file) ?? readFileSync(file, 'utf8');
  const after = withSection(section.page, before, section);
  if (after !== before) stale.push(`${section.page}: ${section.name}`);
  pages.set(file, after);
}
if (check) {
  if (stale.length > 0) {
    process.stderr.write(`these tables differ from the code; run \`npm run docs\`:\n${stale.map((s) => `  ${s}\n`).join('')}`);
    process.exit(1);
  }
} else {
  for (const [file, text] of pages) writeFileSync(file, text);
  process.stdout.write(stale.length > 0 ? `rewrote ${stale.join(', ')}\n` : 'docs/ reference tables are up to date\n');
}
