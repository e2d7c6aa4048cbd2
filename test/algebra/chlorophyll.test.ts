import { describe, expect, it } from 'vitest';

import { OCX_COEFFICIENTS, computeChlorophyll, parseCoefficients } from '../../src/algebra/index.js';

const band = (values: number[], nodata: number | null = null): { values: Float64Array; nodata: number | null } => ({ values: Float64Array.from(values), nodata });
const identity = { scale: 1, offset: 0 };

describe('OCx chlorophyll', () => {
  it('uses the fourth-degree polynomial of the Landsat 8 OC3 set with the larger of two blues', () => {
    const [a0, a1, a2, a3, a4] = OCX_COEFFICIENTS['landsat8-oc3']!.a;
    const out = computeChlorophyll([band([0.004]), band([0.006])], band([0.005]), OCX_COEFFICIENTS['landsat8-oc3']!, identity, new Float64Array(1));
    const x = Math.log10(0.006 / 0.005);
    expect(out[0]).toBeCloseTo(10 ** (a0 + a1 * x + a2 * x ** 2 + a3 * x ** 3 + a4 * x ** 4), 12);
  });

  it('uses OC2v4 in its published cubic-plus-offset form', () => {
    const out = computeChlorophyll([band([0.01])], band([0.008]), OCX_COEFFICIENTS['seawifs-oc2v4']!, identity, new Float64Array(1));
    const x = Math.log10(0.01 / 0.008);
    expect(out[0]).toBeCloseTo(10 ** (0.319 - 2.336 * x + 0.879 * x ** 2 - 0.135 * x ** 3) - 0.071, 12);
  });

  it('gives nodata outside the valid ratio range, for non-positive reflectance and for nodata, and clips the result', () => {
    const set = parseCoefficients('custom:3,0,0,0,0', 'oc2');
    const out = computeChlorophyll([band([1, 0.2, 0.05, -1, 7, 1])], band([1, 1, 1, 1, 1, 7], 7), set, identity, new Float64Array(6));
    // Ratios 1 and 7 are valid and 10^3 is clipped to 1000; 0.2 and 0.05 are below 0.21; a negative blue; a nodata green.
    expect(Array.from(out)).toEqual([1000, Number.NaN, Number.NaN, Number.NaN, 1000, Number.NaN]);
    const scaled = computeChlorophyll([band([5500])], band([5000]), OCX_COEFFICIENTS['landsat8-oc2']!, { scale: 0.00002, offset: -0.1 }, new Float64Array(1));
    expect(scaled[0]).toBeNaN(); // 0.01 / 0 reflectance: green is not positive
  });

  it('refuses unknown sets, sets of the other algorithm, and malformed custom coefficients, naming the value', () => {
    expect(() => parseCoefficients('modis-oc3', 'oc3')).toThrow('--coefficients modis-oc3 is not a known set; use one of seawifs-oc2v4, landsat8-oc2, landsat8-oc3, or custom:a0,a1,a2,a3,a4');
    expect(() => parseCoefficients('seawifs-oc2v4', 'oc3')).toThrow('--coefficients seawifs-oc2v4 was fitted for oc2, not --algorithm oc3');
    expect(() => parseCoefficients('custom:1,2,3', 'oc2')).toThrow(/five finite numbers .* \(got 3: \["1","2","3"\]\)/);
  });
});
