#!/usr/bin/env node
import { CommanderError } from 'commander';

import { DataboxError, messageOf } from '../errors.js';
import { InterruptedError, type CliContext } from './context.js';
import { buildProgram, type Program } from './program.js';

/**
 * Warnings as one short line each, printed once: Node's own printer prefixes the process id and adds
 * a hint about --trace-warnings, which means nothing to a user of this command.
 */
function printWarningsBriefly(): void {
  process.removeAllListeners('warning');
  const seen = new Set<string>();
  process.on('warning', (w) => {
    const line = w.name.startsWith('Databox') || w.name === 'Warning' ? w.message : `${w.name}: ${w.message}`;
    if (seen.has(line)) return;
    seen.add(line);
    process.stderr.write(`databox: warning: ${line}\n`);
  });
}

/** The `databox` command: the table of commands in commands/index.ts, each module loaded when named. */
export async function main(argv: string[]): Promise<number> {
  printWarningsBriefly();
  const controller = new AbortController();
  // `once`: a second Ctrl-C finds no handler and ends the process at once, as users expect.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort(new InterruptedError(sig)));
  const context: CliContext = { signal: controller.signal, io: { stdout: process.stdout, stderr: process.stderr } };
  let program: Program | undefined;
  try {
    program = await buildProgram(context, argv.slice(2));
    await program.command.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof InterruptedError) {
      process.stderr.write(`databox: ${err.message}\n`);
      return err.signal === 'SIGINT' ? 130 : 143;
    }
    // A mistake of the user's (bad file, bad URL, bad option) gets one line; a bug also gets its stack
    // when DATABOX_DEBUG is set.
    process.stderr.write(`databox: ${messageOf(err)}\n`);
    if (!(err instanceof DataboxError) && process.env.DATABOX_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return err instanceof DataboxError ? 1 : 2;
  } finally {
    // Only the command that ran has anything open, and only its module knows what.
    await program?.close();
  }
}

process.exitCode = await main(process.argv);
