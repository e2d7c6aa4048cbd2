import type { z } from 'zod';

import { DataboxError } from '../errors.js';
import { parseOptions } from '../options.js';

/**
 * Parses a built-in task's input, which comes from a client over the network: a bad one fails the
 * subtask with ERR_TASK_INPUT, naming the task, the field and the value.
 */
export function parseTaskInput<S extends z.ZodType>(schema: S, input: unknown, task: string): z.output<S> {
  return parseOptions(
    schema,
    input,
    (p) => {
      throw new DataboxError('ERR_TASK_INPUT', `builtin:${task}: ${p.name} ${p.problem} (got ${JSON.stringify(p.value) ?? String(p.value)})`);
    },
    'input',
  );
}
