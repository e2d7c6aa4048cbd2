import type { BlockPlacement } from '../block-copy.js';
import type { BlockLayout } from '../codecs/index.js';
import type { TypedArray } from '../dtype.js';

/** A block sent to a codec pool thread. */
export type PoolRequest =
  | { id: number; op: 'decode'; data: Uint8Array; layout: BlockLayout }
  | { id: number; op: 'encode'; data: Uint8Array; layout: BlockLayout & { level?: number } }
  | { id: number; op: 'decodeInto'; data: Uint8Array; layout: BlockLayout; placement: BlockPlacement; targets: TypedArray[] };

/** The answer from a codec pool thread. */
export type PoolResponse =
  | { id: number; ok: true; data: Uint8Array | undefined }
  | { id: number; ok: false; error: { name: string; message: string; code: string } };
