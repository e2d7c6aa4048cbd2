import { z } from 'zod';

import type { JsonValue } from '../store/index.js';

/** Any JSON value: job args, subtask inputs and results, wherever they cross a process boundary. */
export const jsonSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonSchema), z.record(z.string(), jsonSchema)]),
);
