import { describe, expect, it } from 'vitest';
import { IndexTree } from '../../src/engine/index-tree.js';

describe('the index tree', () => {
  it('finds a job’s subtasks and where each runs, and what a node holds, in one look-up', () => {
    const tree = new IndexTree<string, string, string>();
    for (const s of ['a0', 'a1', 'a2']) tree.add('job-a', s);
    tree.add('job-b', 'b0');
    tree.assign('a0', 'node-1');
    tree.assign('a1', 'node-2');
    tree.assign('b0', 'node-1');
    expect(tree.holderOf('a1')).toBe('node-2');
    expect([...tree.members('job-a')]).toEqual([
      ['a0', 'node-1'],
      ['a1', 'node-2'],
      ['a2', undefined],
    ]);
    expect([...tree.heldBy('node-1')]).toEqual([
      ['a0', 'job-a'],
      ['b0', 'job-b'],
    ]);
  });

  it('moves a subtask between holders, releases it, and forgets finished work and whole jobs', () => {
    const tree = new IndexTree<number, number, string>();
    tree.add(1, 10);
    tree.add(1, 11);
    tree.assign(10, 'n1');
    tree.assign(10, 'n2');
    expect(tree.heldBy('n1').size).toBe(0);
    expect(tree.holderOf(10)).toBe('n2');
    tree.release(10);
    expect(tree.holderOf(10)).toBeUndefined();
    expect(tree.heldBy('n2').size).toBe(0);
    tree.assign(11, 'n1');
    tree.remove(10);
    expect(tree.memberCount).toBe(1);
    expect([...tree.removeGroup(1)]).toEqual([[11, 'n1']]);
    expect([tree.groupCount, tree.memberCount, tree.heldBy('n1').size]).toEqual([0, 0, 0]);
  });

  it('refuses to assign a subtask it never recorded', () => {
    const tree = new IndexTree<string, string, string>();
    expect(() => tree.assign('ghost', 'n1')).toThrow(/ghost was never added/);
  });
});
