// The reference tables of docs/ are written from the code by `npm run docs` (scripts/docs-tables.ts): the command
// table from the commander program, the key table from the zod schema, the code tables from DIAGNOSTIC_CODES and the
// unions of outcomes, causes and reasons, the environment variables from runner/cli/reference/environment.ts. Each
// page must hold exactly what the script writes, and the script must refuse a code or key it has no words for.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { begin, diagnosticTable, end, keyTable, sections, withSection } from '../../scripts/docs-tables.js';
import { KEY_MEANINGS } from '../../runner/cli/reference/keys.js';
import { DIAGNOSTIC_GROUPS } from '../../runner/cli/reference/codes.js';
import { repoRoot } from '../helpers/workspace.js';

describe('docs: the reference tables are written from the code', function () {
  this.timeout(60_000);

  for (const section of sections(repoRoot)) {
    it(`${section.page}: the ${section.name} table is what \`npm run docs\` writes`, () => {
      const text = readFileSync(path.join(repoRoot, section.page), 'utf8');
      expect(withSection(section.page, text, section) === text, `${section.page}: the ${section.name} table is stale; run \`npm run docs\``).to.equal(true);
    });
  }

  it('the command table has a row for every command and option `pipeline help` shows', () => {
    const text = sections(repoRoot).find((s) => s.name === 'commands')!.text;
    for (const expected of ['`pipeline run [stages...]`', '`  --no-wait`', '`pipeline cache verify`', '`pipeline params diff [revs...]`', '`pipeline ci check`', '`  -C, --cwd <dir>`']) {
      expect(text).to.include(expected);
    }
    expect(text).to.include('(one of `ascii`, `mermaid`, `dot`, `json`; default `ascii`)');
  });

  it('a key without a meaning, or a meaning for no key, stops the script', () => {
    const saved = KEY_MEANINGS.gate;
    delete KEY_MEANINGS.gate;
    try {
      expect(() => keyTable()).to.throw(/add a meaning for gate/);
    } finally {
      KEY_MEANINGS.gate = saved;
    }
    KEY_MEANINGS.nosuchkey = 'x';
    try {
      expect(() => keyTable()).to.throw(/remove nosuchkey/);
    } finally {
      delete KEY_MEANINGS.nosuchkey;
    }
  });

  it('a diagnostic code missing from the groups, or listed twice, stops the script', () => {
    const group = DIAGNOSTIC_GROUPS.find(([codes]) => codes.includes('cycle'))!;
    group[0].push('cycle');
    try {
      expect(() => diagnosticTable()).to.throw(/listed twice cycle/);
    } finally {
      group[0].pop();
    }
    const codes = group[0].splice(0);
    try {
      expect(() => diagnosticTable()).to.throw(/missing cycle/);
    } finally {
      group[0].push(...codes);
    }
  });

  it('a page without the markers of a table is an error naming them', () => {
    expect(() => withSection('docs/x.md', 'no markers here', { page: 'docs/x.md', name: 'keys', text: '|' })).to.throw(/markers of the generated keys table are missing/);
    expect(withSection('docs/x.md', `a\n${begin('k')}\nold\n${end('k')}\nb`, { page: 'docs/x.md', name: 'k', text: 'new' })).to.equal(`a\n${begin('k')}\nnew\n${end('k')}\nb`);
  });
});
