import { DataboxError } from '../errors.js';
import type { TypedArray } from '../raster/index.js';

/**
 * Chlorophyll-a by the OCx maximum-band-ratio algorithms (O'Reilly et al. 1998; O'Reilly & Werdell
 * 2019): with R = max(blues) / green and X = log10(R),
 *
 *     chl = 10^(a0 + a1·X + a2·X² + a3·X³ + a4·X⁴)            (mg m⁻³)
 *
 * except SeaWiFS OC2v4, whose published form is cubic plus an offset: chl = 10^(a0 + a1·X + a2·X² + a3·X³) + a4.
 * The validity rules are NASA OBPG l2gen's (get_chl.c): both reflectances positive, and R strictly
 * between 0.21 and 30; outside that the pixel is nodata. Results are clipped to 0.001–1000 mg m⁻³ as
 * l2gen clips them. See docs/algebra.md for the coefficient sets and their sources.
 */

export const OCX_ALGORITHMS = ['oc2', 'oc3'] as const;
export type OcxAlgorithm = (typeof OCX_ALGORITHMS)[number];

/** `polynomial`: 10^(a0 + … + a4·X⁴); `cubic-plus-a4`: 10^(a0 + … + a3·X³) + a4 (OC2v4). */
export type OcxForm = 'polynomial' | 'cubic-plus-a4';

export interface OcxCoefficients {
  name: string;
  /** The algorithm the set was fitted for: how many blue bands it takes. */
  algorithm: OcxAlgorithm;
  form: OcxForm;
  a: readonly [number, number, number, number, number];
  /** Bands the set was fitted on, for the docs and `--help`. */
  bands: string;
  source: string;
}

/** The named coefficient sets. */
export const OCX_COEFFICIENTS: Readonly<Record<string, OcxCoefficients>> = {
  'seawifs-oc2v4': {
    name: 'seawifs-oc2v4',
    algorithm: 'oc2',
    form: 'cubic-plus-a4',
    a: [0.319, -2.336, 0.879, -0.135, -0.071],
    bands: 'SeaWiFS 490/555 nm',
    source: "O'Reilly et al. (2000), SeaWiFS Postlaunch Calibration and Validation Analyses, Part 3, NASA Tech. Memo. 2000-206892, Vol. 11",
  },
  'landsat8-oc2': {
    name: 'landsat8-oc2',
    algorithm: 'oc2',
    form: 'polynomial',
    a: [0.1977, -1.8117, 1.9743, -2.5635, -0.7218],
    bands: 'Landsat 8 OLI B2/B3 (482/561 nm)',
    source: "NASA OBPG chlor_a coefficients for OLI (O'Reilly & Werdell 2019, Remote Sens. Environ. 229:32–47)",
  },
  'landsat8-oc3': {
    name: 'landsat8-oc3',
    algorithm: 'oc3',
    form: 'polynomial',
    a: [0.2412, -2.0546, 1.1776, -0.5538, -0.457],
    bands: 'Landsat 8 OLI max(B1, B2)/B3 (443, 482/561 nm)',
    source: "NASA OBPG chlor_a coefficients for OLI (O'Reilly & Werdell 2019, Remote Sens. Environ. 229:32–47)",
  },
};

/** l2gen's limits on the band ratio and on the result. */
export const OCX_LIMITS = { minRatio: 0.21, maxRatio: 30, minChl: 0.001, maxChl: 1000 } as const;

/**
 * A `--coefficients` value: a named set, or `custom:a0,a1,a2,a3,a4` (the polynomial form, fitted for
 * `algorithm`). A named set fitted for the other algorithm is refused, since its band ratio differs.
 */
export function parseCoefficients(text: string, algorithm: OcxAlgorithm): OcxCoefficients {
  if (text.startsWith('custom:')) {
    const parts = text.slice('custom:'.length).split(',');
    const a = parts.map((p) => (p.trim() === '' ? Number.NaN : Number(p)));
    if (a.length !== 5 || a.some((v) => !Number.isFinite(v))) {
      throw new DataboxError('ERR_OPTIONS', `--coefficients ${text}: custom coefficients are five finite numbers a0,a1,a2,a3,a4 (got ${parts.length}: ${JSON.stringify(parts)})`);
    }
    return { name: 'custom', algorithm, form: 'polynomial', a: a as unknown as OcxCoefficients['a'], bands: 'as given', source: 'given on the command line' };
  }
  const set = OCX_COEFFICIENTS[text];
  if (set === undefined) {
    throw new DataboxError('ERR_OPTIONS', `--coefficients ${text} is not a known set; use one of ${Object.keys(OCX_COEFFICIENTS).join(', ')}, or custom:a0,a1,a2,a3,a4`);
  }
  if (set.algorithm !== algorithm) {
    throw new DataboxError('ERR_OPTIONS', `--coefficients ${text} was fitted for ${set.algorithm}, not --algorithm ${algorithm}`);
  }
  return set;
}

/** Blue bands each algorithm takes. */
export const OCX_BLUES: Readonly<Record<OcxAlgorithm, number>> = { oc2: 1, oc3: 2 };

export interface OcxBand {
  values: TypedArray;
  nodata: number | null;
}

/**
 * Chlorophyll-a of `length` pixels into `out` (NaN for nodata). Reflectance is `value × scale + offset`
 * (both 1 and 0 for bands already in reflectance); a pixel is nodata where any band is nodata or NaN,
 * where a reflectance is not positive, or where the ratio is outside l2gen's valid range.
 */
export function computeChlorophyll(
  blues: readonly OcxBand[],
  green: OcxBand,
  coefficients: OcxCoefficients,
  reflectance: { scale: number; offset: number },
  out: Float64Array,
): Float64Array {
  const [a0, a1, a2, a3, a4] = coefficients.a;
  const cubic = coefficients.form === 'cubic-plus-a4';
  const { scale, offset } = reflectance;
  const { minRatio, maxRatio, minChl, maxChl } = OCX_LIMITS;
  const gn = green.nodata ?? Number.NaN;
  for (let i = 0; i < out.length; i++) {
    const g = green.values[i]!;
    let blue = Number.NEGATIVE_INFINITY;
    let bad = g === gn || g !== g;
    for (const b of blues) {
      const v = b.values[i]!;
      if (v === b.nodata || v !== v) bad = true;
      else if (v > blue) blue = v;
    }
    const rb = blue * scale + offset;
    const rg = g * scale + offset;
    const ratio = rb / rg;
    if (bad || !(rb > 0) || !(rg > 0) || !(ratio > minRatio && ratio < maxRatio)) {
      out[i] = Number.NaN;
      continue;
    }
    const x = Math.log10(ratio);
    const chl = cubic ? 10 ** (a0 + x * (a1 + x * (a2 + x * a3))) + a4 : 10 ** (a0 + x * (a1 + x * (a2 + x * (a3 + x * a4))));
    out[i] = chl < minChl ? minChl : chl > maxChl ? maxChl : chl;
  }
  return out;
}
