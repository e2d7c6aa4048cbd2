import type { Command } from 'commander';

import type { JobView } from '../../engine/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { openJobman, withJobman, type JobmanFlags } from '../jobman.js';
import { intOption } from '../options.js';
import { finishedOf, formatTable, formatTime } from '../view.js';

/** `databox jobs`: the newest jobs, as a table or JSON. */
function defineJobs(command: Command, { signal, io }: CliContext): void {
  withJobman(command)
    .option('--limit <n>', 'how many, 1 to 1000', intOption('--limit', 1, 1000), 50)
    .option('--json', 'print {"jobs":[...]}')
    .action(async (flags: { limit: number; json?: boolean } & JobmanFlags) => {
      const jobs = await (await openJobman(flags, io.stderr)).listJobs({ limit: flags.limit }, signal);
      io.stdout.write(flags.json ? `${JSON.stringify({ jobs })}\n` : formatJobs(jobs));
    });
}

export const commands = { jobs: defineJobs };
export const close = closeSharedConnections;

export function formatJobs(jobs: readonly JobView[]): string {
  if (jobs.length === 0) return 'no jobs\n';
  return formatTable(
    ['ID', 'TASK', 'STATE', 'DONE', 'FAILED', 'CREATED'],
    jobs.map((j) => [String(j.id), j.task, j.state, `${finishedOf(j)}/${j.total}`, String(j.counts.failed), formatTime(j.createdAt)]),
  );
}
