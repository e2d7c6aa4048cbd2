#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { DataboxError, messageOf } from '../errors.js';
import { closeSharedCodecs } from '../raster/index.js';
import { closeSharedConnections } from '../storage/index.js';
import { InterruptedError, type CliContext } from './context.js';
import { registerInfo } from './commands/info.js';
import { registerNdvi } from './commands/ndvi.js';
import { registerAlgebra } from './commands/algebra.js';
import { registerZonal } from './commands/zonal.js';
import { registerTranslate } from './commands/translate.js';
import { registerClientCommands } from './commands/engine-client.js';
import { registerEngineServers } from './commands/engine-servers.js';

/** The `databox` command: one file per sub-command under commands/. */
export function buildProgram(context: CliContext): Command {
  const program = new Command()
    .name('databox')
    .description('DataboxMR: a light distributed engine for remote-sensing rasters')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInfo(program);
  registerTranslate(program, context);
  registerNdvi(program, context);
  registerAlgebra(program, context);
  registerZonal(program, context);
  registerEngineServers(program, context);
  registerClientCommands(program, context);
  return program;
}

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

export async function main(argv: string[]): Promise<number> {
  printWarningsBriefly();
  const controller = new AbortController();
  // `once`: a second Ctrl-C finds no handler and ends the process at once, as users expect.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => controller.abort(new InterruptedError(sig)));
  try {
    await buildProgram({ signal: controller.signal }).parseAsync(argv);
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
    // Kept-alive HTTP connections and S3 clients would hold the process open after the work is done;
    // the codec threads would not, but ending them is tidier.
    await Promise.all([closeSharedConnections(), closeSharedCodecs()]);
  }
}

process.exitCode = await main(process.argv);
