import type { Command } from 'commander';

import type { AttemptErrorRow, JobView } from '../../engine/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { failUnlessSucceeded, jobIdArgument, openJobman, withJobman, type JobmanFlags } from '../jobman.js';
import { followJob, formatTime } from '../view.js';

/** Attempt errors `databox job` shows. */
const SHOWN_ERRORS = 10;

/** `databox job <id>`: one job, its subtask counts and its first attempt errors; `--wait` waits as `run` does. */
function defineJob(command: Command, { signal, io }: CliContext): void {
  withJobman(command)
    .argument('<id>', 'job id', jobIdArgument)
    .option('--wait', 'wait for the job to finish first (exit code 1 unless it succeeded)')
    .option('--json', 'print {"job":{...},"errors":[...]}')
    .action(async (id: number, flags: { wait?: boolean; json?: boolean } & JobmanFlags) => {
      const client = await openJobman(flags, io.stderr);
      let job = await client.getJob(id, signal);
      if (flags.wait) {
        const follow = followJob(io.stderr, signal);
        job = await follow.wait(id, () => client.waitForJob(id, { signal, onProgress: follow.onProgress }));
      }
      const errors: AttemptErrorRow[] = [];
      for await (const e of client.errors(id, { pageSize: SHOWN_ERRORS, signal })) {
        if (errors.push(e) >= SHOWN_ERRORS) break;
      }
      io.stdout.write(flags.json ? `${JSON.stringify({ job, errors })}\n` : formatJob(job, errors));
      if (flags.wait) failUnlessSucceeded(job);
    });
}

export const commands = { job: defineJob };
export const close = closeSharedConnections;

export function formatJob(job: JobView, errors: readonly AttemptErrorRow[]): string {
  const c = job.counts;
  const lines = [
    `job ${job.id}: ${job.task}, ${job.state}`,
    `  inputs      ${job.total}${job.args !== null ? `, args ${JSON.stringify(job.args)}` : ''}`,
    `  subtasks    ${c.succeeded} succeeded, ${c.failed} failed, ${c.cancelled} cancelled, ${c.running} running, ${c.dispatched} dispatched, ${c.queued} queued`,
    `  options     ${job.priority ? 'priority' : 'normal'}, node ${job.node ?? 'any'}${job.preferNodes.length > 0 ? ` (prefers ${job.preferNodes.join(', ')})` : ''}, ` +
      `${job.retries} retries, timeout ${job.timeoutMs === null ? 'none' : `${job.timeoutMs} ms`}, on failure ${job.onFailure}`,
    `  restarts    ${job.restarts}`,
    `  created     ${formatTime(job.createdAt)}`,
  ];
  if (job.finishedAt !== null) lines.push(`  finished    ${formatTime(job.finishedAt)} (${((job.finishedAt - job.createdAt) / 1000).toFixed(2)} s)`);
  if (job.cancelledAt !== null) lines.push(`  cancelled   ${formatTime(job.cancelledAt)}`);
  if (errors.length > 0) {
    lines.push(`errors (the first ${errors.length}):`);
    for (const e of errors) lines.push(`  input ${e.index}, attempt ${e.attempt}, on ${e.node ?? 'no node'}: ${oneLine(e.error.message)}`);
  }
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 199)}…` : flat;
}
