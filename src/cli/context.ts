import { DataboxError } from '../errors.js';

/** Ctrl-C or SIGTERM during a command: work stops, partial output and temporary files are removed. */
export class InterruptedError extends DataboxError {
  constructor(readonly signal: NodeJS.Signals) {
    super('ERR_INTERRUPTED', `interrupted by ${signal}; nothing was written`);
  }
}

/** What every command gets from the process: the signal that says stop. */
export interface CliContext {
  signal: AbortSignal;
}

/** A command line that parses but does not make sense, caught by a command rather than by the parser. */
export class UsageError extends DataboxError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}
