// The docs hold together: every relative link of README.md, ARCHITECTURE.md and docs/*.md names a file of the
// repository, and every `#anchor` a heading of its page (as GitHub makes anchors from headings); README.md stays a
// page a newcomer reads to the end (at most 300 lines) and links every page of docs/.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../helpers/workspace.js';

const PAGES = ['README.md', 'ARCHITECTURE.md', ...readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchors(page: string): Set<string> {
  const text = readFileSync(path.join(repoRoot, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

/** The relative links of a page outside code blocks: [text](target). */
function links(page: string): string[] {
  const text = readFileSync(path.join(repoRoot, page), 'utf8').replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
}

describe('docs: links and anchors', () => {
  it('makes GitHub\'s anchors', () => {
    expect(anchorOf('Stage templates (`matrix:`)')).to.equal('stage-templates-matrix');
    expect(anchorOf('Results (test set, 4,128 rows; equal to scikit-learn\'s to 1e-9)')).to.equal('results-test-set-4128-rows-equal-to-scikit-learns-to-1e-9');
  });

  for (const page of PAGES) {
    it(`${page}: every relative link and anchor resolves`, () => {
      const broken: string[] = [];
      for (const target of links(page)) {
        const [file, anchor] = target.split('#');
        const resolved = file ? path.normalize(path.join(path.dirname(page), file)) : page;
        if (!existsSync(path.join(repoRoot, resolved))) broken.push(`${target}: no file ${resolved}`);
        else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${target}: no heading #${anchor} in ${resolved}`);
      }
      expect(broken).to.deep.equal([]);
    });
  }

  it('README.md is at most 300 lines and links every page of docs/', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    expect(readme.split('\n').length).to.be.at.most(300);
    const linked = new Set(links('README.md').map((t) => t.split('#')[0]));
    expect(PAGES.filter((p) => p.startsWith('docs/') && !linked.has(p))).to.deep.equal([]);
  });
});
