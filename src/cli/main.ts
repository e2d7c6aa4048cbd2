#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { DataboxError, messageOf } from '../errors.js';
import { closeSharedCodecs } from '../raster/index.js';
import { closeSharedConnections } from '../storage/index.js';
import { registerInfo } from './commands/info.js';
import { registerNdvi } from './commands/ndvi.js';
import { registerTranslate } from './commands/translate.js';

/** The `databox` command: one file per sub-command under commands/. */
export function buildProgram(): Command {
  const program = new Command()
    .name('databox')
    .description('DataboxMR: a light distributed engine for remote-sensing rasters')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerInfo(program);
  registerTranslate(program);
  registerNdvi(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
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
