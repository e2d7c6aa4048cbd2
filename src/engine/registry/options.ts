import { z } from 'zod';
import { parseOptions as parseOptionsAt } from '../../options.js';

import { InvalidRegistryEntryError, InvalidRegistryInputError, RegistryErrorCode } from './errors.js';
import { checkId, checkKind, encodeValue, type RegistryKind, type RegistryValues } from './values.js';

/** Every registry default in one place; the option types below say what each field means. */
export const registryDefaults = {
  /** @defaultValue `/databox/`: the key prefix, so clusters and tests sharing one etcd do not collide */
  prefix: '/databox/',
  /** @defaultValue 10 s: a dead holder's entry disappears at most this long after its last keep-alive */
  ttlMs: 10_000,
  /** @defaultValue 5 s: limit on one etcd request (streams excepted) */
  callTimeoutMs: 5_000,
  /** @defaultValue 5 s: limit on connecting to an etcd host */
  dialTimeoutMs: 5_000,
} as const;

/** Longest TTL we accept: Node's timers (the embedded registry's clock) cannot wait longer. */
export const MAX_TTL_MS = 2_147_483_647;

/** Options every registry takes. */
export interface RegistryOptions {
  /** Key prefix: starts and ends with `/`, segments of letters, digits and `._-`. @defaultValue `/databox/` */
  prefix?: string;
  /** Default TTL of a registration in milliseconds (etcd rounds up to whole seconds). @defaultValue 10000 */
  ttlMs?: number;
  /**
   * Told about each stored entry that `list` or `watch` skipped because it does not parse.
   * @defaultValue `process.emitWarning`
   */
  onInvalidEntry?: (problem: InvalidRegistryEntryError) => void;
}

/** Options of the etcd registry. */
export interface EtcdRegistryOptions extends RegistryOptions {
  /** Limit on one etcd request in milliseconds (watch and keep-alive streams excepted). @defaultValue 5000 */
  callTimeoutMs?: number;
  /** Limit on connecting to one etcd host in milliseconds. @defaultValue 5000 */
  dialTimeoutMs?: number;
}

/** Options of one `register` call. */
export interface RegisterOptions {
  /** TTL of this registration's lease in milliseconds; etcd rounds up to whole seconds. @defaultValue the registry's `ttlMs` */
  ttlMs?: number;
  /**
   * `true`: the registry keeps the lease alive until `revoke`, `release` or the process dies.
   * `false`: the holder calls `refresh()` at least once per TTL (how the Jobman will hold entries for
   * remote Taskmen, refreshed by their heartbeats). @defaultValue true
   */
  keepAlive?: boolean;
}

const positiveInt = (what: string) => z.number(`must be ${what}`).int(`must be ${what}`).positive(`must be ${what}`);
const ttlMs = positiveInt(`a positive integer number of milliseconds, at most ${MAX_TTL_MS}`).max(
  MAX_TTL_MS,
  `must be a positive integer number of milliseconds, at most ${MAX_TTL_MS}`,
);
const PREFIX_PATTERN = /^\/(?:[A-Za-z0-9._-]+\/)*$/;

const baseShape = {
  prefix: z
    .string('must be a string')
    .regex(PREFIX_PATTERN, 'must start and end with "/" and hold only letters, digits and ._- between slashes, e.g. /databox/')
    .default(registryDefaults.prefix),
  ttlMs: ttlMs.default(registryDefaults.ttlMs),
  onInvalidEntry: z
    .custom<(problem: InvalidRegistryEntryError) => void>((v) => typeof v === 'function', 'must be a function')
    .default(() => warnInvalidEntry),
};

const registrySchema = z.strictObject(baseShape, 'must be an object of known fields');
const etcdRegistrySchema = z.strictObject(
  {
    ...baseShape,
    callTimeoutMs: positiveInt('a positive integer number of milliseconds').default(registryDefaults.callTimeoutMs),
    dialTimeoutMs: positiveInt('a positive integer number of milliseconds').default(registryDefaults.dialTimeoutMs),
  },
  'must be an object of known fields',
);
const registerSchema = z.strictObject(
  {
    ttlMs: ttlMs.optional(),
    keepAlive: z.boolean('must be true or false').default(true),
  },
  'must be an object of known fields',
);

/** Registry options with every default applied. */
export type ResolvedRegistryOptions = z.output<typeof registrySchema>;
/** etcd registry options with every default applied. */
export type ResolvedEtcdRegistryOptions = z.output<typeof etcdRegistrySchema>;
/** `register` options with every default applied (`ttlMs` falls back to the registry's). */
export type ResolvedRegisterOptions = Required<z.output<typeof registerSchema>>;

export function resolveRegistryOptions(options: RegistryOptions = {}): ResolvedRegistryOptions {
  return parseOptions(registrySchema, options, 'options');
}

export function resolveEtcdRegistryOptions(options: EtcdRegistryOptions = {}): ResolvedEtcdRegistryOptions {
  return parseOptions(etcdRegistrySchema, options, 'options');
}

export function resolveRegisterOptions(options: RegisterOptions = {}, defaultTtlMs: number): ResolvedRegisterOptions {
  const parsed = parseOptions(registerSchema, options, 'register options');
  return { keepAlive: parsed.keepAlive, ttlMs: parsed.ttlMs ?? defaultTtlMs };
}

/** Parses once at the edge; the first problem becomes an error naming the option and the value. */
function parseOptions<S extends z.ZodType>(schema: S, input: unknown, root: string): z.output<S> {
  return parseOptionsAt(
    schema,
    input,
    (p) => {
      throw new InvalidRegistryInputError(RegistryErrorCode.invalidOption, p.name, p.problem, p.value);
    },
    root,
  );
}

function warnInvalidEntry(problem: InvalidRegistryEntryError): void {
  process.emitWarning(problem.message, { type: 'DataboxRegistryWarning', code: problem.code });
}

/**
 * What every back-end checks before registering, in one place: the kind, the id, the value (encoded as
 * it will be stored) and the register options with the registry's default TTL filled in.
 */
export function prepareRegistration<K extends RegistryKind>(
  kind: K,
  id: string,
  value: RegistryValues[K],
  options: RegisterOptions,
  defaultTtlMs: number,
): { json: string; resolved: ResolvedRegisterOptions } {
  checkKind(kind);
  checkId(id);
  return { json: encodeValue(kind, value), resolved: resolveRegisterOptions(options, defaultTtlMs) };
}
