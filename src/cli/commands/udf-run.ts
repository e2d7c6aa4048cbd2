import { readFile } from 'node:fs/promises';

import { Cluster, JobFailedError, type JobmanClient, type UdfJobOptions } from '../../engine/index.js';
import { splitByFile } from '../../jobs/index.js';
import { checkWritable, writeAll } from '../../storage/index.js';
import { UsageError, type CommandIo } from '../context.js';
import { formatRunSummary, jobFailure, summarizeRun, type RunFlags } from '../jobman.js';
import { followJob } from '../view.js';

export interface UdfRunFlags {
  inputs?: string;
  reduce?: boolean;
  out?: string;
  memoryMb?: number;
}

/**
 * `databox run <udf-file> --inputs ...`: bundles and uploads the module, runs it as a map (or
 * map-reduce) job with the same progress bar and summary as a built-in run, and writes the results, in
 * input order, as JSON to `--out` (else stdout; with `--json`, into the summary line).
 *
 * It waits once: the job handle's `result()` waits for the map job (and the reductions), its progress
 * events drawing the bar and leaving the map job's last state for the summary; a job that fails, map
 * or reduce, ends the command with the same error as a built-in run's.
 */
export async function runUdf(file: string, flags: RunFlags & UdfRunFlags, client: JobmanClient, signal: AbortSignal, io: CommandIo): Promise<void> {
  if (flags.count !== undefined || flags.arg !== undefined) throw new UsageError('--count and --arg are for built-in tasks; an RS-UDF takes --inputs <json-file|glob>');
  if (flags.async) throw new UsageError('--async is for built-in tasks; an RS-UDF run waits for its results');
  if (flags.inputs === undefined) throw new UsageError(`databox run ${file} needs --inputs <json-file|glob>`);
  const inputs = await readInputs(flags.inputs);
  if (flags.out !== undefined) await checkWritable(flags.out, { signal });
  const cluster = Cluster.of(client);
  const follow = followJob(io.stderr, signal);
  const opts: UdfJobOptions = { signal, onProgress: follow.onProgress };
  if (flags.priority) opts.priority = true;
  if (flags.node !== undefined) opts.node = flags.node;
  if (flags.waitForNode) opts.waitForNode = true;
  if (flags.retries !== undefined) opts.retries = flags.retries;
  if (flags.timeoutMs !== undefined) opts.timeoutMs = flags.timeoutMs;
  if (flags.onFailure !== undefined) opts.onFailure = flags.onFailure;
  if (flags.memoryMb !== undefined) opts.memoryMb = flags.memoryMb;
  const handle = flags.reduce ? await cluster.submitMapReduce(file, inputs, opts) : await cluster.submitMap(file, inputs, opts);
  // The map job has one subtask per input.
  io.stderr.write(`job ${handle.id} submitted: ${file} over ${inputs.length} input${inputs.length === 1 ? '' : 's'}${flags.reduce ? ', then reduced' : ''}; waiting (Ctrl-C stops waiting, not the job)\n`);
  let results: unknown;
  try {
    results = await follow.wait(handle.id, () => handle.result());
  } catch (err) {
    throw err instanceof JobFailedError ? jobFailure(err.job) : err;
  }
  const final = follow.last ?? (await client.getJob(handle.id, signal));
  const summary = summarizeRun(final);
  const text = JSON.stringify(results, plainJson);
  if (flags.out !== undefined) await writeAll(flags.out, new TextEncoder().encode(`${text}\n`), { signal });
  if (flags.json) {
    io.stdout.write(`${JSON.stringify(flags.out === undefined ? { ...summary, results } : { ...summary, out: flags.out }, plainJson)}\n`);
    return;
  }
  if (flags.out === undefined) io.stdout.write(`${text}\n`);
  io.stderr.write(`${formatRunSummary(summary)}${flags.out !== undefined ? `; results in ${flags.out}` : ''}\n`);
}

/**
 * Results as any reader of a .json file expects them: typed arrays as arrays, 64-bit integers as
 * decimal strings (JSON numbers would lose their precision), NaN and infinities as null (JSON's rule).
 */
function plainJson(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => (typeof v === 'bigint' ? v.toString() : v));
  }
  return value;
}

/** `--inputs`: a JSON file holding an array, or a glob whose files (local or S3) are the inputs. */
async function readInputs(spec: string): Promise<unknown[]> {
  if (/\.json$/i.test(spec) && !/[*?[\]{}]/.test(spec)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(spec, 'utf8'));
    } catch (err) {
      throw new UsageError(`--inputs ${spec}: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0) throw new UsageError(`--inputs ${spec} must hold a non-empty JSON array of inputs (got ${Array.isArray(parsed) ? 'an empty array' : typeof parsed})`);
    return parsed;
  }
  return splitByFile(spec);
}
