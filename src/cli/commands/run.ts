import type { Command } from 'commander';

import { FAILURE_POLICIES, MAX_INPUTS, MAX_MEMORY_MB, MAX_RETRIES, MIN_MEMORY_MB, submitJobSchema, type SubmitJob } from '../../engine/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import { UsageError, type CliContext } from '../context.js';
import { failUnlessSucceeded, formatRunSummary, openJobman, summarizeRun, withJobman, type RunFlags } from '../jobman.js';
import { choiceOption, intOption, numberOption } from '../options.js';
import { followJob } from '../view.js';
import type { UdfRunFlags } from './udf-run.js';

/**
 * `databox run <task>`: a built-in task over inputs 0..N-1, here; an RS-UDF module over `--inputs`, in
 * udf-run.ts, loaded only for one. Both wait for the job the same way and end with the same summary.
 */
function defineRun(command: Command, { signal, io }: CliContext): void {
  withJobman(command)
    .argument('<task>', 'an RS-UDF module (a .ts or .js file whose default export is defineUdf(...)), or a built-in: builtin:noop, builtin:sleep, builtin:fail, builtin:crash')
    .option('--count <n>', 'built-ins: number of inputs; the subtasks get inputs 0..N-1', intOption('--count', 1, MAX_INPUTS))
    .option('--inputs <file|glob>', 'RS-UDFs: a JSON file holding an array of inputs, or a glob (local or s3://) whose files are the inputs')
    .option('--reduce', 'RS-UDFs: fold the results with the UDF’s reduce (map-reduce)')
    .option('--out <file>', 'RS-UDFs: write the results (or the reduced value) there as JSON (default: stdout)')
    .option('--memory-mb <n>', 'memory limit of the worker process running a subtask', intOption('--memory-mb', MIN_MEMORY_MB, MAX_MEMORY_MB))
    .option('--arg <value>', 'a number every subtask gets as `arg` (builtin:sleep: ms to sleep; builtin:fail: attempts to fail)', numberOption('--arg'))
    .option('--priority', 'put the job ahead of queued normal work')
    .option('--node <name>', 'run only on this node')
    .option('--wait-for-node', 'with --node: wait for that node however long it is gone, instead of failing (ERR_NODE_GONE) after the Jobman’s grace period')
    .option('--retries <n>', `retries per failed subtask, 0 to ${MAX_RETRIES}`, intOption('--retries', 0, MAX_RETRIES))
    .option('--timeout-ms <n>', 'kill a subtask running longer than this', intOption('--timeout-ms', 1, 2 ** 31 - 1))
    .option('--on-failure <policy>', `what a failed subtask does: ${FAILURE_POLICIES.join(', ')}`, choiceOption('--on-failure', FAILURE_POLICIES))
    .option('--async', 'print {"id":N} and return without waiting')
    .option('--json', 'end with one JSON line: id, state, subtasks, durationMs, throughputPerS')
    .action(async (task: string, flags: RunFlags & UdfRunFlags) => {
      if (!/^(builtin|udf):/.test(task)) {
        const { runUdf } = await import('./udf-run.js');
        return runUdf(task, flags, await openJobman(flags, io.stderr), signal, io);
      }
      const body = submitBody(task, flags);
      const client = await openJobman(flags, io.stderr);
      const job = await client.submit(body);
      if (flags.async) return void io.stdout.write(`${JSON.stringify({ id: job.id })}\n`);
      io.stderr.write(`job ${job.id} submitted: ${job.task} over ${job.total} input${job.total === 1 ? '' : 's'}; waiting (Ctrl-C stops waiting, not the job)\n`);
      const follow = followJob(io.stderr, signal);
      const final = await follow.wait(job.id, () => client.waitForJob(job.id, { signal, onProgress: follow.onProgress }));
      const summary = summarizeRun(final);
      io.stdout.write(`${flags.json ? JSON.stringify(summary) : formatRunSummary(summary)}\n`);
      failUnlessSucceeded(final);
    });
}

export const commands = { run: defineRun };
export const close = closeSharedConnections;

/** The options the API names differently from the command line. */
const FLAG_OF: Record<string, string> = { task: '<task>', count: '--count', args: '--arg', node: '--node', retries: '--retries', timeoutMs: '--timeout-ms', onFailure: '--on-failure' };

/** The job `databox run` submits, checked against the API's schema before any request. */
export function submitBody(task: string, flags: RunFlags): SubmitJob {
  if (flags.count === undefined) throw new UsageError('databox run needs --count N (the job runs the task over inputs 0..N-1)');
  const body = {
    task,
    count: flags.count,
    ...(flags.arg !== undefined ? { args: flags.arg } : {}),
    ...(flags.priority ? { priority: true } : {}),
    ...(flags.node !== undefined ? { node: flags.node } : {}),
    ...(flags.waitForNode ? { waitForNode: true } : {}),
    ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
    ...(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {}),
    ...(flags.onFailure !== undefined ? { onFailure: flags.onFailure } : {}),
  };
  const parsed = submitJobSchema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = String(issue.path[0] ?? 'task');
  throw new UsageError(`${FLAG_OF[key] ?? key} ${issue.message} (got ${JSON.stringify((body as Record<string, unknown>)[key])})`);
}
