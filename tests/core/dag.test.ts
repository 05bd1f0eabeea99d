// Graph algorithms in one place (runner/core/dag.ts): order, cycles, ancestors, descendants.
import { expect } from 'chai';
import { Dag } from '../../runner/core/dag.js';

const dag = (edges: Record<string, string[]>) => new Dag(Object.keys(edges), (n) => edges[n]);

describe('Dag', () => {
  it('orders nodes after what they depend on, taking the ready node declared first', () => {
    const g = dag({ c: [], a: ['b'], b: [], d: ['c', 'a'] });
    expect(g.order()).to.deep.equal({ order: ['c', 'b', 'a', 'd'], stuck: [] });
  });

  it('ignores dependencies on names that are not nodes, and repeated ones', () => {
    expect(dag({ a: ['x', 'b', 'b'], b: [] }).order().order).to.deep.equal(['b', 'a']);
  });

  it('finds a cycle as a path starting at the node declared first, each depending on the next', () => {
    const g = dag({ z: [], b: ['c'], a: ['b'], c: ['a'], d: ['a'] });
    expect(g.order().stuck).to.deep.equal(['b', 'a', 'c', 'd']);
    expect(g.findCycle()).to.deep.equal(['b', 'c', 'a']);
    expect(dag({ a: [], b: ['a'] }).findCycle()).to.equal(undefined);
  });

  it('finds separate cycles one after the other', () => {
    const g = dag({ a: ['b'], b: ['a'], c: ['d'], d: ['c'], e: ['e'] });
    expect(g.findCycles(10)).to.deep.equal([['a', 'b'], ['c', 'd'], ['e']]);
    expect(g.findCycles(2)).to.have.length(2);
  });

  it('gives ancestors and descendants, and whether one node depends on another', () => {
    const g = dag({ a: [], b: ['a'], c: ['b'], d: [], e: ['c', 'd'] });
    expect([...g.ancestors(['e'])].sort()).to.deep.equal(['a', 'b', 'c', 'd']);
    expect([...g.descendants(['a'])].sort()).to.deep.equal(['b', 'c', 'e']);
    expect(g.dependsOn('e', 'a')).to.equal(true);
    expect(g.dependsOn('a', 'e')).to.equal(false);
  });

  it('handles a chain of 10,000 nodes and a 10,000-node cycle without recursion', () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
    const chain = new Dag(names, (n) => (n === 's0' ? [] : [`s${Number(n.slice(1)) - 1}`]));
    expect(chain.order().order).to.deep.equal(names);
    expect(chain.ancestors(['s9999']).size).to.equal(9_999);
    const ring = new Dag(names, (n) => [`s${(Number(n.slice(1)) + names.length - 1) % names.length}`]);
    expect(ring.findCycle()).to.have.length(10_000);
  });
});
