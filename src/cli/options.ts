import { InvalidArgumentError } from 'commander';

import { UsageError } from './context.js';

/**
 * Commander parsers that reject a bad value with a message naming it. Nothing here loads more than
 * commander: the option tables of every command use these.
 */
export function intOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max} (got "${value}").`);
    }
    return n;
  };
}

/** A tile size: a multiple of 16, as TIFF requires of tiles. */
export function blockOption(name: string): (value: string) => number {
  const int = intOption(name, 16, 4096);
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n % 16 !== 0) {
      throw new InvalidArgumentError(`${name} must be a multiple of 16 from 16 to 4096 (got "${value}").`);
    }
    return int(value);
  };
}

/** Any finite number. */
export function numberOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number (got "${value}").`);
    return n;
  };
}

/**
 * Refuses an output whose name ends in an extension other than .tif or .tiff: the command writes
 * GeoTIFF only, and `out.png` holding a TIFF would surprise every program that opens it. A name without
 * an extension (an S3 key, say) is accepted.
 */
export function checkTiffName(url: string, what: string): void {
  const ext = /\.([A-Za-z0-9]{1,8})$/.exec(url.replace(/[?#].*$/, '').replace(/^.*\//, ''))?.[1];
  if (ext !== undefined && !/^tiff?$/i.test(ext)) {
    throw new UsageError(`${what} ${url}: this command writes Cloud Optimized GeoTIFF only, not .${ext}; name the output .tif`);
  }
}

export function choiceOption<T extends string>(name: string, choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of ${choices.join(', ')} (got "${value}").`);
    }
    return value as T;
  };
}

/** `~/x` as the shell would expand it (commander passes defaults and quoted values through untouched). */
export function expandHome(dir: string): string {
  return dir === '~' || dir.startsWith('~/') ? `${process.env.HOME ?? ''}${dir.slice(1)}` : dir;
}
