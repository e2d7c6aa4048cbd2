import { FieldType, fieldTypeSize } from '../tiff/tags.js';

/** One IFD entry to write. Numbers are written as `type`; text as NUL-terminated ASCII. */
export interface IfdEntry {
  tag: number;
  type: number;
  values: ArrayLike<number> | string;
}

function valueCount(e: IfdEntry): number {
  return typeof e.values === 'string' ? e.values.length + 1 : e.values.length;
}

function valueBytes(e: IfdEntry): number {
  return valueCount(e) * fieldTypeSize(e.type)!;
}

/** Bytes an IFD takes, its out-of-line values included (each padded to an even length). */
export function ifdByteSize(entries: readonly IfdEntry[], bigTiff: boolean): number {
  const inline = bigTiff ? 8 : 4;
  let size = (bigTiff ? 8 : 2) + entries.length * (bigTiff ? 20 : 12) + (bigTiff ? 8 : 4);
  for (const e of entries) {
    const n = valueBytes(e);
    if (n > inline) size += n + (n % 2);
  }
  return size;
}

/** Serialises an IFD (little-endian) that will sit at byte `at`, followed by its out-of-line values. */
export function encodeIfd(entries: readonly IfdEntry[], at: number, next: number, bigTiff: boolean): Uint8Array {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const out = new Uint8Array(ifdByteSize(sorted, bigTiff));
  const view = new DataView(out.buffer);
  const inline = bigTiff ? 8 : 4;
  const entrySize = bigTiff ? 20 : 12;
  const head = bigTiff ? 8 : 2;
  let extra = head + sorted.length * entrySize + (bigTiff ? 8 : 4);
  if (bigTiff) view.setBigUint64(0, BigInt(sorted.length), true);
  else view.setUint16(0, sorted.length, true);
  sorted.forEach((e, i) => {
    const p = head + i * entrySize;
    view.setUint16(p, e.tag, true);
    view.setUint16(p + 2, e.type, true);
    if (bigTiff) view.setBigUint64(p + 4, BigInt(valueCount(e)), true);
    else view.setUint32(p + 4, valueCount(e), true);
    const valueAt = p + (bigTiff ? 12 : 8);
    const n = valueBytes(e);
    let target = valueAt;
    if (n > inline) {
      if (bigTiff) view.setBigUint64(valueAt, BigInt(at + extra), true);
      else view.setUint32(valueAt, at + extra, true);
      target = extra;
      extra += n + (n % 2);
    }
    writeValues(view, target, e);
  });
  const nextAt = head + sorted.length * entrySize;
  if (bigTiff) view.setBigUint64(nextAt, BigInt(next), true);
  else view.setUint32(nextAt, next, true);
  return out;
}

function writeValues(view: DataView, at: number, e: IfdEntry): void {
  if (typeof e.values === 'string') {
    for (let i = 0; i < e.values.length; i++) view.setUint8(at + i, e.values.charCodeAt(i) & 0xff);
    view.setUint8(at + e.values.length, 0);
    return;
  }
  const v = e.values;
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    switch (e.type) {
      case FieldType.SHORT:
        view.setUint16(at + i * 2, x, true);
        break;
      case FieldType.LONG:
        view.setUint32(at + i * 4, x, true);
        break;
      case FieldType.DOUBLE:
        view.setFloat64(at + i * 8, x, true);
        break;
      case FieldType.LONG8:
        view.setBigUint64(at + i * 8, BigInt(x), true);
        break;
      default:
        throw new Error(`encodeIfd: field type ${e.type} is not written by this encoder`);
    }
  }
}
