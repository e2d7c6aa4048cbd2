import type { Command } from 'commander';

import { nodeTokenFromHome, resolveHome } from '../../engine/index.js';
import type { CliContext } from '../context.js';
import { expandHome } from '../options.js';

/**
 * `databox node-token <node>`: the token a Taskman joins with as `<node>`, made from the node secret in
 * the Jobman's home. Run it where the Jobman runs and hand the token to the node's Taskman
 * (`--node-token-file`, or `DATABOX_NODE_TOKEN`). The token opens only that node's Taskman link.
 */
function defineNodeToken(command: Command, { io }: CliContext): void {
  command
    .argument('<node>', 'the node’s name, as its Taskman’s --node')
    .option('--home <dir>', 'the Jobman’s state directory, holding DIR/node-secret', '~/.databox')
    .action(async (node: string, flags: { home: string }) => {
      io.stdout.write(`${await nodeTokenFromHome(resolveHome(expandHome(flags.home)), node)}\n`);
    });
}

export const commands = { 'node-token': defineNodeToken };
