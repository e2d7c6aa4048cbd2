import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/engine/deque.js';
import { prng } from '../helpers/prng.js';

describe('the deque', () => {
  it('serves the head first: normal work from the tail, priority work and re-runs jump ahead', () => {
    const d = new Deque<string>(2);
    d.pushTail('n1');
    d.pushTail('n2');
    d.pushHead('rerun');
    d.pushHeadAll(['p1', 'p2']);
    expect([...d]).toEqual(['p1', 'p2', 'rerun', 'n1', 'n2']);
    expect([d.popHead(), d.popHead(), d.popTail(), d.size]).toEqual(['p1', 'p2', 'n2', 2]);
  });

  it('behaves like an array under a long random mix of operations, growing as needed', () => {
    const r = prng(11);
    const d = new Deque<number>(2);
    const model: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const op = r();
      if (op < 0.3) {
        d.pushTail(i);
        model.push(i);
      } else if (op < 0.55) {
        d.pushHead(i);
        model.unshift(i);
      } else if (op < 0.8) {
        expect(d.popHead()).toBe(model.shift());
      } else {
        expect(d.popTail()).toBe(model.pop());
      }
      expect(d.size).toBe(model.length);
    }
    expect([...d]).toEqual(model);
    expect(d.peekHead()).toBe(model[0]);
  });
});
