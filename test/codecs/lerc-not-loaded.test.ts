import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CodecError, decodeBlock, decodeBlockSync, type BlockLayout } from '../../src/raster/codecs/index.js';

// Its own file: vitest gives each file fresh modules, so LERC is not loaded yet when this runs.
describe('LERC through the sync entry point', () => {
  const blob = (JSON.parse(readFileSync(new URL('fixtures/lerc-blobs.json', import.meta.url), 'utf8')) as { blobs: { name: string; blob: string }[] }).blobs.find(
    (b) => b.name === 'uint8-3-samples',
  )!;
  const data = Buffer.from(blob.blob, 'base64');
  const layout: BlockLayout = {
    compression: 34887,
    predictor: 1,
    width: 16,
    height: 16,
    samplesPerPixel: 3,
    bytesPerSample: 1,
    sampleFormat: 1,
    littleEndian: true,
    where: 'w.tif: tile 0,0',
  };

  it('says to await loadCodecs() first, rather than failing obscurely', async () => {
    expect(() => decodeBlockSync(data, layout)).toThrow(CodecError);
    expect(() => decodeBlockSync(data, layout)).toThrow('w.tif: tile 0,0: the LERC decoder is not loaded: await loadCodecs() once before decodeBlockSync()');
    // The async entry point loads it on demand, after which the sync one works too.
    const decoded = await decodeBlock(data, layout);
    expect(Buffer.compare(decodeBlockSync(data, layout), decoded)).toBe(0);
  });
});
