import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import encode, { init as initEncoder } from '@jsquash/jpeg/encode.js';
import { describe, expect, it } from 'vitest';
import { CodecError, decodeBlock, decodeBlockSync, type BlockLayout } from '../../src/raster/codecs/index.js';

// Its own file: vitest gives each file fresh modules, so the JPEG decoder is not loaded yet when this runs.
describe('JPEG through the sync entry point', () => {
  const layout: BlockLayout = {
    compression: 7,
    predictor: 1,
    width: 16,
    height: 8,
    samplesPerPixel: 1,
    bytesPerSample: 1,
    sampleFormat: 1,
    littleEndian: true,
    photometric: 1,
    where: 'j.tif: tile 0,0',
  };

  it('says to await loadCodecs() first, rather than failing obscurely', async () => {
    await initEncoder({ wasmBinary: readFileSync(createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm')) });
    const rgba = new Uint8ClampedArray(16 * 8 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 5) & 255));
    const data = new Uint8Array(await encode({ data: rgba, width: 16, height: 8, colorSpace: 'srgb' }, { color_space: 1 }));

    expect(() => decodeBlockSync(data, layout)).toThrow(CodecError);
    expect(() => decodeBlockSync(data, layout)).toThrow('j.tif: tile 0,0: the JPEG decoder is not loaded: await loadCodecs() once before decodeBlockSync()');
    // The async entry point loads it on demand, after which the sync one works too.
    const decoded = await decodeBlock(data, layout);
    expect(decoded.length).toBe(16 * 8);
    expect(Buffer.compare(decodeBlockSync(data, layout), decoded)).toBe(0);
  });
});
