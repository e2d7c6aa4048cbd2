import { z } from 'zod';

import { DataboxError } from '../errors.js';
import { GeoTiff, storedNodata, type TypedArray, type Window } from '../raster/index.js';
import { OCX_ALGORITHMS, OCX_BLUES, computeChlorophyll, parseCoefficients } from './chlorophyll.js';
import { evaluateExpr, parseExpr } from './expr/index.js';
import { FOCAL_OPS, FOCAL_SHAPES, focal } from './focal.js';
import { checkSameGrid } from './grid.js';

/**
 * The map-algebra operations a window subtask runs, as plain data (a zod discriminated union keyed by
 * `type`), so a client can describe the work and a worker can check it before doing it:
 *
 * - `calc`: a band-math expression over named bands (local: each output pixel from the same pixel of
 *   the inputs). `databox ndvi` is `calc` of `(nir - red) / (nir + red)`.
 * - `chlorophyll`: OCx chlorophyll-a from blue and green reflectances (local).
 * - `focal`: a moving-window statistic (focal: needs a halo of `radius` pixels around the window).
 *
 * Every op computes float64 values with NaN for nodata; the output spec then stores them (see output.ts).
 */

/** One band of one raster; `band` counts from 0. */
export const bandSourceSchema = z.strictObject({ name: z.string().min(1), url: z.string().min(1), band: z.number().int().nonnegative() });
export type BandSource = z.infer<typeof bandSourceSchema>;

export const opSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('calc'), expr: z.string().min(1), bands: z.array(bandSourceSchema).min(1) }),
  z.strictObject({
    type: z.literal('chlorophyll'),
    algorithm: z.enum(OCX_ALGORITHMS),
    coefficients: z.string().min(1),
    blues: z.array(bandSourceSchema).min(1).max(2),
    green: bandSourceSchema,
    scale: z.number().positive().finite(),
    offset: z.number().finite(),
  }),
  z.strictObject({
    type: z.literal('focal'),
    op: z.enum(FOCAL_OPS),
    radius: z.number().int().min(1).max(64),
    shape: z.enum(FOCAL_SHAPES),
    input: bandSourceSchema,
  }),
]);
export type Op = z.infer<typeof opSchema>;

/** The bands an op reads, the first one giving the output's grid. */
export function opSources(op: Op): BandSource[] {
  switch (op.type) {
    case 'calc':
      return op.bands;
    case 'chlorophyll':
      return [...op.blues, op.green];
    case 'focal':
      return [op.input];
  }
}

/** Pixels an op needs around each output pixel: its window's halo. */
export function opHalo(op: Op): number {
  return op.type === 'focal' ? op.radius : 0;
}

/** Fails on an op that cannot run, before any pixel is read: a bad expression, coefficients, band count. */
export function checkOp(op: Op): void {
  if (op.type === 'calc') parseExpr(op.expr, { bands: op.bands.map((b) => b.name) });
  if (op.type === 'chlorophyll') {
    parseCoefficients(op.coefficients, op.algorithm);
    const want = OCX_BLUES[op.algorithm];
    if (op.blues.length !== want) throw new OpError(`${op.algorithm} takes ${want} blue band${want > 1 ? 's' : ''} (got ${op.blues.length})`);
  }
}

/** An op that cannot run as described: a missing band, the wrong number of bands. */
export class OpError extends DataboxError {
  constructor(message: string) {
    super('ERR_OPTIONS', message);
  }
}

function multiBandMessage(s: BandSource, g: GeoTiff): string {
  const list = Array.from({ length: Math.min(g.bands, 12) }, (_, i) => `#${i + 1}`).join(', ') + (g.bands > 12 ? `, … #${g.bands}` : '');
  return `${s.name}: ${s.url} has ${g.bands} bands (${list}); say which one, as ${s.name}=${s.url}#N`;
}

/** The rasters of an op, opened once per URL (a multi-band file named twice is opened once). */
export class OpRasters {
  private constructor(
    readonly op: Op,
    private readonly byUrl: ReadonlyMap<string, GeoTiff>,
  ) {}

  /**
   * Opens the op's rasters and checks that they share one grid and that each band exists. Sources named
   * in `options.implicit` were given without a band number: their file must have one band, since taking
   * band 1 of a multi-band file unasked gives a wrong answer without a word.
   */
  static async open(op: Op, signal?: AbortSignal, options: { implicit?: ReadonlySet<string> } = {}): Promise<OpRasters> {
    const byUrl = new Map<string, GeoTiff>();
    try {
      for (const s of opSources(op)) {
        if (!byUrl.has(s.url)) byUrl.set(s.url, await GeoTiff.open(s.url, signal ? { signal } : {}));
        const g = byUrl.get(s.url)!;
        if (s.band >= g.bands) throw new OpError(`Band ${s.band + 1} of ${s.url} (${s.name}) does not exist: it has ${g.bands} band${g.bands > 1 ? 's' : ''}`);
        if (options.implicit?.has(s.name) && g.bands > 1) throw new OpError(multiBandMessage(s, g));
      }
      const rasters = new OpRasters(op, byUrl);
      checkSameGrid(
        opSources(op).map((s) => ({ name: `${op.type === 'calc' ? 'band ' : ''}${s.name}`, raster: rasters.of(s) })),
        op.type,
      );
      return rasters;
    } catch (err) {
      await Promise.all([...byUrl.values()].map((g) => g.close()));
      throw err;
    }
  }

  of(source: BandSource): GeoTiff {
    return this.byUrl.get(source.url)!;
  }

  /** The raster whose grid the output takes. */
  get grid(): GeoTiff {
    return this.of(opSources(this.op)[0]!);
  }

  async close(): Promise<void> {
    await Promise.all([...this.byUrl.values()].map((g) => g.close()));
  }

  /** Bytes that arrived from storage for these rasters so far. */
  get bytesRead(): number {
    let n = 0;
    for (const g of this.byUrl.values()) n += g.bytesRead;
    return n;
  }

  /** Reads one band over a window, with its nodata as the pixels hold it. */
  private async read(source: BandSource, window: Window, signal?: AbortSignal): Promise<{ values: TypedArray; nodata: number | null }> {
    const g = this.of(source);
    const r = await g.readWindow({ window, bands: [source.band], ...(signal ? { signal } : {}) });
    return { values: r.bands[0]!, nodata: storedNodata(g.dtype, g.nodata) };
  }

  /** The op's values over `window` (full resolution), NaN for nodata, row by row. */
  async compute(window: Window, signal?: AbortSignal): Promise<Float64Array> {
    const op = this.op;
    const n = window.width * window.height;
    switch (op.type) {
      case 'calc': {
        const expr = parseExpr(op.expr, { bands: op.bands.map((b) => b.name) });
        const used = op.bands.filter((b) => expr.bands.includes(b.name));
        const inputs = await Promise.all(used.map((b) => this.read(b, window, signal)));
        return evaluateExpr(expr, new Map(used.map((b, i) => [b.name, inputs[i]!])), n);
      }
      case 'chlorophyll': {
        const [green, ...blues] = await Promise.all([op.green, ...op.blues].map((b) => this.read(b, window, signal)));
        return computeChlorophyll(blues, green!, parseCoefficients(op.coefficients, op.algorithm), op, new Float64Array(n));
      }
      case 'focal': {
        // The window grown by the radius on every side, clipped to the raster: beyond its edge there is nothing to include.
        const g = this.grid;
        const r = op.radius;
        const x0 = Math.max(0, window.x - r);
        const y0 = Math.max(0, window.y - r);
        const x1 = Math.min(g.width, window.x + window.width + r);
        const y1 = Math.min(g.height, window.y + window.height + r);
        const halo = { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
        const read = await g.readWindow({ window: halo, bands: [op.input.band], ...(signal ? { signal } : {}) });
        const input = { values: read.bands[0]!, width: halo.width, height: halo.height, nodata: storedNodata(g.dtype, g.nodata) };
        return focal(input, { x: window.x - x0, y: window.y - y0, width: window.width, height: window.height }, { op: op.op, radius: r, shape: op.shape });
      }
    }
  }
}
