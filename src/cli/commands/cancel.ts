import type { Command } from 'commander';

import type { CancelAnswer } from '../../engine/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { jobIdArgument, openJobman, withJobman, type JobmanFlags } from '../jobman.js';

/** `databox cancel <id>`: queued subtasks are dropped, running ones killed. */
function defineCancel(command: Command, { io }: CliContext): void {
  withJobman(command)
    .argument('<id>', 'job id', jobIdArgument)
    .action(async (id: number, flags: JobmanFlags) => {
      io.stdout.write(formatCancel(await (await openJobman(flags, io.stderr)).cancel(id)));
    });
}

export const commands = { cancel: defineCancel };
export const close = closeSharedConnections;

export function formatCancel(c: CancelAnswer): string {
  if (c.cancelled === 0) return `job ${c.id}: nothing to cancel (it had already finished or been cancelled)\n`;
  return `job ${c.id}: cancelled ${c.cancelled} subtask${c.cancelled === 1 ? '' : 's'}; ${c.killed} of them ${c.killed === 1 ? 'was' : 'were'} running and ${c.killed === 1 ? 'is' : 'are'} being killed\n`;
}
