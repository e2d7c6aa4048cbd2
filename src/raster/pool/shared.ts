import { CodecPool } from './codec-pool.js';
import type { CodecRunner } from './codec-runner.js';

let shared: CodecPool | undefined;

/**
 * The process's codec pool, one thread per core, started on the first block that needs it. Readers and
 * writers use it unless given other codecs, so decoding runs at native speed on every core by default.
 * Its threads hold the process open only while they work.
 */
export const sharedCodecs: CodecRunner = {
  decode: (data, layout) => (shared ??= new CodecPool()).decode(data, layout),
  encode: (samples, layout, options) => (shared ??= new CodecPool()).encode(samples, layout, options),
  decodeInto: (data, layout, placement, out) => (shared ??= new CodecPool()).decodeInto(data, layout, placement, out),
  sharedOutput: true,
  warm: () => void (shared ??= new CodecPool()),
};

/** Ends the shared pool's threads (a later block starts a new pool). */
export async function closeSharedCodecs(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
