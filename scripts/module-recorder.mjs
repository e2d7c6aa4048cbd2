// Records every file a Node process loads and prints the list to stderr as it exits, as one line
// `LOADED [<url or path>, ...]`: ES modules through a loader hook, CommonJS files through Module._load.
// Used with `node --import ./scripts/module-recorder.mjs …` by the start-up test and by bench:cli.
import Module, { register } from 'node:module';
import { writeSync } from 'node:fs';
import { MessageChannel } from 'node:worker_threads';

const LOADER = 'let port; export function initialize(d) { port = d.port; } export async function load(url, context, next) { port.postMessage(url); return next(url, context); }';
const seen = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => seen.add(url));
port1.unref();
register(`data:text/javascript,${encodeURIComponent(LOADER)}`, import.meta.url, { data: { port: port2 }, transferList: [port2] });
const load = Module._load;
Module._load = function (request, parent, isMain) {
  try {
    seen.add(Module._resolveFilename(request, parent, isMain));
  } catch {
    // a built-in or an unresolvable name: the load itself will say what is wrong
  }
  return load.apply(this, arguments);
};
process.on('exit', () => writeSync(2, `\nLOADED ${JSON.stringify([...seen])}\n`));
