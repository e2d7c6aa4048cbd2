import { parentPort } from 'node:worker_threads';
import { Compression, decodeBlockSync, encodeBlockSync, loadCodecs } from '../codecs/index.js';
import { copyBlock } from '../block-copy.js';
import type { PoolRequest, PoolResponse } from './messages.js';

/** A codec pool thread: runs one block at a time, synchronously, and hands the bytes back without copying. */
const port = parentPort;
if (port === null) throw new Error('codec-worker.js must run as a worker thread');

// LERC's and JPEG's WebAssembly compile once per thread, on the first block that needs them, so a pool that
// only sees DEFLATE starts at once. The pool sends one block at a time, so waiting here keeps order.
let wasm: Promise<void> | undefined;
const needsWasm = (compression: number): boolean => compression === Compression.Lerc || compression === Compression.Jpeg;

port.on('message', async (msg: PoolRequest) => {
  let reply: PoolResponse;
  try {
    if (msg.op !== 'encode' && needsWasm(msg.layout.compression)) await (wasm ??= loadCodecs());
    if (msg.op === 'decodeInto') {
      // Decode and place the pixels straight into the caller's shared output: nothing travels back.
      const decoded = decodeBlockSync(msg.data, msg.layout);
      copyBlock(decoded, msg.placement, msg.targets);
      port.postMessage({ id: msg.id, ok: true, data: undefined } satisfies PoolResponse);
      return;
    }
    const result = msg.op === 'decode' ? decodeBlockSync(msg.data, msg.layout) : encodeBlockSync(msg.data, msg.layout);
    reply = { id: msg.id, ok: true, data: result };
    port.postMessage(reply, [result.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = {
      id: msg.id,
      ok: false,
      error: { name: e.name, message: e.message, code: (e as { code?: string }).code ?? 'ERR_CODEC' },
    };
    port.postMessage(reply);
  }
});
