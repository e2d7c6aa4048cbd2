import { describe, expect, it } from 'vitest';
import { CLASSIC_LIMIT, CogWriteError, planCogFile } from '../../src/raster/index.js';

const ifd = (_level: number, bigTiff: boolean): number => (bigTiff ? 400 : 250);
const levels = (...tiles: number[][]): { byteCount: Float64Array }[] => tiles.map((t) => ({ byteCount: Float64Array.from(t) }));

describe('COG layout', () => {
  it('puts every IFD before the data, the smallest overview first, full resolution last', () => {
    const plan = planCogFile(levels([100, 200], [50]), ifd, 'auto', 'x.tif');
    expect(plan.bigTiff).toBe(false);
    expect(plan.ifdAt[0]).toBe(192); // after the 8-byte header and GDAL's ghost area, as GDAL writes
    expect(plan.ifdAt[1]).toBe(192 + 250);
    const dataStart = 192 + 500;
    expect(plan.tileOffsets[1]![0]).toBe(dataStart + 4);
    expect(plan.tileOffsets[0]![0]).toBe(dataStart + 50 + 8 + 4);
    expect(plan.tileOffsets[0]![1]).toBe(dataStart + 58 + 108 + 4);
    expect(plan.fileSize).toBe(dataStart + 58 + 108 + 208);
  });

  it('switches to BigTIFF only when the file would pass 4 GiB', () => {
    const small = planCogFile(levels(new Array(1000).fill(4_000_000)), ifd, 'auto', 'x.tif');
    expect(small.bigTiff).toBe(false);
    expect(small.fileSize).toBeLessThanOrEqual(CLASSIC_LIMIT);
    const big = planCogFile(levels(new Array(1100).fill(4_000_000)), ifd, 'auto', 'x.tif');
    expect(big.bigTiff).toBe(true);
    expect(big.headerSize).toBe(16);
    expect(big.tileOffsets[0]![1099]).toBeGreaterThan(CLASSIC_LIMIT);
  });

  it('writes BigTIFF on request, and refuses a too-big file when BigTIFF is ruled out', () => {
    expect(planCogFile(levels([10]), ifd, true, 'x.tif').bigTiff).toBe(true);
    expect(() => planCogFile(levels(new Array(1100).fill(4_000_000)), ifd, false, 's3://b/x.tif')).toThrow(CogWriteError);
    expect(() => planCogFile(levels(new Array(1100).fill(4_000_000)), ifd, false, 's3://b/x.tif')).toThrow(/s3:\/\/b\/x\.tif would be \d+ bytes, past classic TIFF's 4 GiB/);
  });
});
