import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { CodecError, CorruptBlockError, describeCause } from './errors.js';

/**
 * libjpeg-turbo's decoder (as mozjpeg, compiled to WebAssembly by Squoosh and packaged as
 * `@jsquash/jpeg`), so JPEG blocks decode to the very bytes GDAL's libjpeg-turbo gives.
 *
 * Loading is asynchronous (reading and compiling the wasm), once per thread; decoding is synchronous,
 * so worker threads can call it. We instantiate the emscripten module ourselves from the compiled
 * wasm, through its `instantiateWasm` hook, which makes instantiation synchronous too: that is what
 * lets us throw an instance away after any failure and start a fresh one before the next block.
 *
 * Why throw it away: the glue's libjpeg error handler ends in `exit()`, which emscripten turns into a
 * thrown `ExitStatus`. That unwinds through the wasm without freeing libjpeg's memory or restoring the
 * C stack pointer, so every failure would leak heap and C stack until the instance corrupts its own
 * memory (measured: one reused instance dies after about 70 failures); a trap or `abort()` leaves it
 * dead outright. A fresh instance costs one to a few milliseconds, paid only for damaged blocks.
 */

/** RGBA pixels, row by row, as the glue returns them (its `ImageData`). */
export interface RgbaImage {
  /** width × height × 4 bytes: R, G, B, 255 (grey replicated into R, G and B). */
  data: Uint8ClampedArray;
  /** Columns. */
  width: number;
  /** Rows. */
  height: number;
}

/** The slice of the WebAssembly JS API we use (our compiler settings carry no WebAssembly typings). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
}
/** A compiled WebAssembly.Module: opaque to us. */
type WasmModule = object;
const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The emscripten module options we pass, which the glue then fills with the module's exports. */
interface ModuleObject {
  noInitialRun: boolean;
  print(line: string): void;
  printErr(line: string): void;
  instantiateWasm(imports: object, receive: (instance: { exports: object }) => void): object;
  /** Added by the glue: decodes a whole JPEG stream; throws (or returns null) on failure. */
  decode?(data: Uint8Array, preserveOrientation: boolean): RgbaImage | null;
  /** Added by the glue: a view of the wasm memory, re-made when it grows. */
  HEAPU8?: Uint8Array;
}

type ModuleFactory = (module: ModuleObject) => Promise<unknown>;

/** An instance whose heap has grown past this is dropped after its decode, giving the memory back. */
const RETAIN_HEAP_BYTES = 64 * 2 ** 20;

/** libjpeg's messages (warnings, then the error) kept from one decode; warnings are otherwise dropped. */
const MAX_MESSAGES = 8;

let loading: Promise<void> | undefined;
let compiled: { factory: ModuleFactory; wasm: WasmModule } | undefined;
let live: ModuleObject | undefined;
const messages: string[] = [];

/** Reads and compiles the decoder once per thread; later calls return the same promise (a failed load may be retried). */
export function loadJpeg(): Promise<void> {
  loading ??= load().catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}

async function load(): Promise<void> {
  // Node has no ImageData, and the glue returns its results as one (it looks the constructor up when
  // it starts). The glue installs a minimal one itself when it recognises Node, which not every
  // runtime passes for; ours is as minimal: we read only data, width and height.
  (globalThis as { ImageData?: unknown }).ImageData ??= class {
    constructor(
      readonly data: Uint8ClampedArray,
      readonly width: number,
      readonly height: number,
    ) {}
  };
  const wasmPath = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
  const [glue, bytes] = await Promise.all([import('@jsquash/jpeg/codec/dec/mozjpeg_dec.js'), readFile(wasmPath)]);
  compiled = { factory: (glue as { default: ModuleFactory }).default, wasm: await wasmApi.compile(bytes) };
  try {
    // Start one now, so that a glue that cannot start fails the load rather than the first block.
    live = instantiate('loading the JPEG decoder');
  } catch (err) {
    compiled = undefined;
    throw err;
  }
}

/** A fresh, ready instance. The glue starts synchronously when instantiateWasm returns the instance at once. */
function instantiate(where: string): ModuleObject {
  const { factory, wasm } = compiled!;
  const module: ModuleObject = {
    // No main() to run: the module is a library.
    noInitialRun: true,
    print: () => {},
    printErr: (line) => {
      if (messages.length === MAX_MESSAGES) messages.shift();
      messages.push(line);
    },
    instantiateWasm(imports, receive) {
      const instance = new wasmApi.Instance(wasm, imports);
      receive(instance);
      return instance.exports;
    },
  };
  let failure: unknown = 'it has no decode function';
  try {
    // The promise settles later and tells us nothing new: the module is ready, or not, on return.
    factory(module).catch(() => {});
  } catch (err) {
    failure = err;
  }
  if (typeof module.decode !== 'function') {
    throw new CodecError('ERR_CODEC_NOT_LOADED', where, `the JPEG decoder's WebAssembly did not start: ${describeCause(failure)}`, { cause: failure });
  }
  return module;
}

/**
 * Decodes a whole JPEG stream to RGBA. Needs {@link loadJpeg} to have finished. Throws
 * {@link CorruptBlockError} with libjpeg's message when libjpeg gives up; the next call then runs on a
 * fresh instance.
 */
export function decodeJpegRgba(stream: Uint8Array, where: string): RgbaImage {
  if (compiled === undefined) {
    throw new CodecError('ERR_CODEC_NOT_LOADED', where, 'the JPEG decoder is not loaded: await loadCodecs() once before decodeBlockSync()');
  }
  live ??= instantiate(where);
  const module = live;
  messages.length = 0;
  let image: RgbaImage | null;
  try {
    image = module.decode!(stream, false);
  } catch (err) {
    live = undefined;
    // libjpeg prints its error, then exit(1) throws an ExitStatus, which says only that; anything else
    // thrown (a trap, an abort) speaks for itself.
    const said = (err as { name?: unknown } | null)?.name === 'ExitStatus' ? messages.at(-1) : undefined;
    const detail = said === undefined ? describeCause(err) : `libjpeg says "${said}"`;
    throw new CorruptBlockError(where, `JPEG stream is corrupt: ${detail}`, { cause: err });
  }
  if ((module.HEAPU8?.byteLength ?? 0) > RETAIN_HEAP_BYTES) live = undefined;
  if (image === null) throw new CorruptBlockError(where, 'JPEG stream is corrupt: the decoder returned nothing');
  return image;
}
