import type { Command } from 'commander';

import { DataboxError } from '../errors.js';

/** Ctrl-C or SIGTERM during a command: work stops, partial output and temporary files are removed. */
export class InterruptedError extends DataboxError {
  constructor(readonly signal: NodeJS.Signals) {
    super('ERR_INTERRUPTED', `interrupted by ${signal}; nothing was written`);
  }
}

/** Ctrl-C while waiting for a job: the job goes on; the user is told how to stop it. */
export class StoppedWaitingError extends InterruptedError {
  constructor(
    signal: NodeJS.Signals,
    /** The job left running. */
    readonly jobId: number,
  ) {
    super(signal);
    this.message = `stopped waiting for job ${jobId}, which goes on running; cancel it with \`databox cancel ${jobId}\``;
  }
}

/** Where the commands write; the process's streams unless a test gives its own. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  /** Progress bars are drawn only when this is a terminal. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

/** What every command gets from the process: the signal that says stop, and where to write. */
export interface CliContext {
  signal: AbortSignal;
  io: CommandIo;
}

/** A command line that parses but does not make sense, caught by a command rather than by the parser. */
export class UsageError extends DataboxError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * Gives a command, already named and described from the table in commands/index.ts, its arguments, its
 * options and its action.
 */
export type DefineCommand = (command: Command, context: CliContext) => void;

/** What a module under commands/ gives main.ts once the command line names one of its commands. */
export interface CommandModule {
  /** Each command of the module by name. */
  readonly commands: Readonly<Record<string, DefineCommand>>;
  /**
   * Ends what the module's commands leave open (kept-alive HTTP connections and S3 clients would hold
   * the process open after the work is done; codec threads would not, but ending them is tidier).
   */
  readonly close?: () => Promise<unknown>;
}
