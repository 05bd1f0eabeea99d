// TurnMemo (runner/plan/turn-memo.ts): the module closure checks share what they read within one turn of the event
// loop and read again in the next, so a file a stage wrote after a check is never answered from before it; a
// lasting memo shares across turns until `everyTurn()` (the run is about to change the workspace).
import { expect } from 'chai';
import { TurnMemo } from '../../runner/plan/turn-memo.js';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('TurnMemo', () => {
  it('computes each key once in a turn, across awaits of settled promises, and again in a later turn', async () => {
    const memo = new TurnMemo();
    const computed: string[] = [];
    const read = (key: string, value: number) => memo.once(key, () => (computed.push(key), value));
    expect([read('a', 1), read('b', 2), read('a', 3)]).to.deep.equal([1, 2, 1]);
    await Promise.resolve();
    expect(read('a', 4)).to.equal(1);
    expect(computed).to.deep.equal(['a', 'b']);
    await nextTurn();
    expect([read('a', 5), read('b', 6), read('a', 7)]).to.deep.equal([5, 6, 5]);
    expect(computed).to.deep.equal(['a', 'b', 'a', 'b']);
  });

  it('keeps a value that is undefined as computed, not as absent', () => {
    const memo = new TurnMemo();
    let calls = 0;
    const read = () => memo.once('k', () => (calls++, undefined));
    read();
    read();
    expect(calls).to.equal(1);
  });

  it('lasting: shares across turns until everyTurn(), which drops what was read at once; then each turn reads again', async () => {
    const memo = new TurnMemo(true);
    const computed: string[] = [];
    const read = (key: string, value: number) => memo.once(key, () => (computed.push(key), value));
    expect(read('a', 1)).to.equal(1);
    await nextTurn();
    expect([read('a', 2), read('b', 3)]).to.deep.equal([1, 3]);
    expect(computed).to.deep.equal(['a', 'b']);
    memo.everyTurn();
    expect([read('a', 4), read('a', 5)]).to.deep.equal([4, 4]);
    await nextTurn();
    expect(read('a', 6)).to.equal(6);
    memo.everyTurn();
    expect(read('a', 7)).to.equal(6);
    expect(computed).to.deep.equal(['a', 'b', 'a', 'a']);
  });
});
