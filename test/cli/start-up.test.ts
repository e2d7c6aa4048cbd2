import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';
import { describe, expect, it } from 'vitest';

import { COMMANDS } from '../../src/cli/commands/index.js';
import { commandNamed } from '../../src/cli/program.js';
import { CLI } from '../helpers/cli.js';
import { CONFORMANCE } from '../helpers/fixtures.js';

/** Prints every file the process loads, as `LOADED [...]` on stderr at exit. */
const RECORDER = fileURLToPath(new URL('../../scripts/module-recorder.mjs', import.meta.url));

/** The files `databox ...args` loads, paths relative to the checkout's dist/ or node_modules/. */
function loadedBy(args: string[]): Promise<{ code: number | null; files: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', RECORDER, CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const list = /LOADED (\[.*\])/.exec(stderr)?.[1];
      if (list === undefined) return reject(new Error(`databox ${args.join(' ')} printed no list of modules: ${stderr}`));
      const files = (JSON.parse(list) as string[]).map((f) => f.replace(/^file:\/\//, '').replace(/^.*?\/(dist|node_modules)\//, '$1/'));
      resolve({ code, files });
    });
  });
}

const ENGINE_RASTER_STORAGE = /^dist\/(storage|raster|algebra|engine|jobs)\//;
const SERVERS = /^node_modules\/(fastify|better-sqlite3|etcd3|@grpc)\//;
const AWS_SDK = /^node_modules\/@aws-sdk\//;

describe('databox starts at once', () => {
  it.each([['--version'], ['--help'], ['help']])('databox %s loads no engine, raster or storage code, only commander and the command table', async (flag) => {
    const { code, files } = await loadedBy([flag]);
    expect(code).toBe(0);
    expect(files.filter((f) => ENGINE_RASTER_STORAGE.test(f) || SERVERS.test(f) || AWS_SDK.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/')).sort()).toEqual(['dist/cli/commands/index.js', 'dist/cli/context.js', 'dist/cli/main.js', 'dist/cli/program.js', 'dist/errors.js']);
  });

  it('a client command loads the engine’s client but no server, raster code or AWS SDK', async () => {
    const { code, files } = await loadedBy(['jobs', '--help']);
    expect(code).toBe(0);
    expect(files.some((f) => f.startsWith('dist/engine/client/'))).toBe(true);
    expect(files.filter((f) => SERVERS.test(f) || AWS_SDK.test(f) || /^dist\/(raster|algebra|jobs)\//.test(f))).toEqual([]);
  });

  it('databox info on a local file loads the raster and storage layers but neither the AWS SDK nor the engine', async () => {
    const { code, files } = await loadedBy(['info', join(CONFORMANCE, 'u16_cog_overviews.tif')]);
    expect(code).toBe(0);
    expect(files.some((f) => f.startsWith('dist/raster/'))).toBe(true);
    expect(files.filter((f) => AWS_SDK.test(f) || SERVERS.test(f) || /^dist\/(engine|jobs)\//.test(f))).toEqual([]);
  });
});

describe('the table of commands', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s is defined by the module the table names, with the usage databox --help lists', async (name, entry) => {
    const module = await entry.load();
    const command = new Command(name);
    const define = module.commands[name];
    expect(define).toBeTypeOf('function');
    define!(command, { signal: new AbortController().signal, io: { stdout: process.stdout, stderr: process.stderr } });
    expect(command.usage()).toBe(entry.usage);
    expect(command.registeredArguments.length + command.options.length).toBeGreaterThan(0);
  });

  it('names each command once', () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('finds the command a command line runs as commander does, including after help', () => {
    expect(commandNamed(['info', '--json', 'x.tif'])).toBe('info');
    expect(commandNamed(['--json', 'info'])).toBe('info');
    expect(commandNamed(['help', 'run'])).toBe('run');
    expect(commandNamed(['--help'])).toBeUndefined();
    expect(commandNamed([])).toBeUndefined();
  });
});
