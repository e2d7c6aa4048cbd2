/**
 * A double-ended queue on a growable ring buffer: O(1) at both ends, no per-item allocation. The Jobman
 * and each Taskman keep subtasks on one: normal work joins at the tail, priority work and re-runs at the
 * head, and both schedulers hand out from the head.
 */
export class Deque<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 16) {
    this.items = new Array(Math.max(2, initialCapacity));
  }

  get size(): number {
    return this.count;
  }

  pushTail(item: T): void {
    this.grow();
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  pushHead(item: T): void {
    this.grow();
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  /** Puts `items` at the head in their order, so items[0] comes out first. */
  pushHeadAll(items: readonly T[]): void {
    for (let i = items.length - 1; i >= 0; i--) this.pushHead(items[i]!);
  }

  popHead(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  popTail(): T | undefined {
    if (this.count === 0) return undefined;
    const at = (this.head + this.count - 1) % this.items.length;
    const item = this.items[at];
    this.items[at] = undefined;
    this.count--;
    return item;
  }

  peekHead(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Items from head to tail, without removing them. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) % this.items.length]!;
  }

  private grow(): void {
    if (this.count < this.items.length) return;
    const next: (T | undefined)[] = new Array(this.items.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }
}
