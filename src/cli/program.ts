import { Command, Help } from 'commander';

import { COMMANDS } from './commands/index.js';
import type { CliContext, CommandModule } from './context.js';

/** The `databox` program, with the one command the command line names defined in full. */
export interface Program {
  readonly command: Command;
  /** Ends what the loaded command module leaves open; nothing when none was loaded. */
  close(): Promise<void>;
}

const NAMES = new Set(COMMANDS.map((c) => c.name));

/**
 * Builds the program for `args` (the command line after `databox`). Every command is listed from the
 * light table in commands/index.ts; only the one `args` names (`databox <cmd> ...` or
 * `databox help <cmd>`) has its module loaded and its arguments, options and action defined, so
 * `databox --version` and `databox --help` load no engine, raster or storage code.
 */
export async function buildProgram(context: CliContext, args: readonly string[]): Promise<Program> {
  const { io } = context;
  const plain = new Help();
  const program = new Command()
    .name('databox')
    .description('DataboxMR: a light distributed engine for remote-sensing rasters')
    .version('0.1.0')
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    // A command not loaded has no options or arguments yet: its line in the list comes from the table.
    .configureHelp({ subcommandTerm: (cmd) => (NAMES.has(cmd.name()) ? `${cmd.name()} ${cmd.usage()}` : plain.subcommandTerm(cmd)) })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const wanted = commandNamed(args);
  let loaded: CommandModule | undefined;
  for (const entry of COMMANDS) {
    const command = program.command(entry.name).description(entry.description);
    if (entry.name !== wanted) {
      command.usage(entry.usage);
      continue;
    }
    loaded = await entry.load();
    const define = loaded.commands[entry.name];
    if (define === undefined) throw new Error(`commands/index.ts names a module for \`${entry.name}\` that does not define it`);
    define(command, context);
  }
  return {
    command: program,
    close: async () => {
      await loaded?.close?.();
    },
  };
}

/**
 * The command `args` runs, as commander finds it: the first word that is not an option (the program's
 * own options take no value), or the word after `help`.
 */
export function commandNamed(args: readonly string[]): string | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}
