/** How far a {@link pipeline} runs ahead. */
export interface PipelineOptions {
  /** Reads started ahead of the step being worked on. @defaultValue 1 */
  readAhead?: number;
  /**
   * Works (e.g. tile writes) still settling while the next step starts. @defaultValue 0: on two cores,
   * deeper pipelines measured slower (the codec threads are already busy) and used more memory.
   */
  maxPending?: number;
}

/**
 * Runs `steps` in order through `read` then `work`, keeping up to `readAhead` reads in flight ahead of
 * the current step and up to `maxPending` works still settling behind it, so I/O, decoding and encoding
 * overlap while memory stays bounded by those two numbers. The first failure stops the loop and is
 * thrown once everything started has settled.
 */
export async function pipeline<S, R>(
  steps: readonly S[],
  read: (step: S) => Promise<R>,
  work: (data: R, step: S, index: number) => Promise<void>,
  options: PipelineOptions = {},
): Promise<void> {
  const readAhead = Math.max(1, options.readAhead ?? 1);
  const maxPending = Math.max(0, options.maxPending ?? 0);
  const reads = new Map<number, Promise<R>>();
  const pending: Promise<void>[] = [];
  const start = (i: number): void => {
    if (i >= steps.length) return;
    const p = read(steps[i]!);
    p.catch(() => undefined); // observed below; this only stops an early failure counting as unhandled
    reads.set(i, p);
  };
  for (let i = 0; i < readAhead; i++) start(i);
  try {
    for (let i = 0; i < steps.length; i++) {
      const data = await reads.get(i)!;
      reads.delete(i);
      start(i + readAhead);
      const w = work(data, steps[i]!, i);
      w.catch(() => undefined);
      pending.push(w);
      while (pending.length > maxPending) await pending.shift();
    }
    await Promise.all(pending);
  } catch (err) {
    await Promise.allSettled([...reads.values(), ...pending]);
    throw err;
  }
}
