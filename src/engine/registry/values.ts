import { z } from 'zod';

import { InvalidRegistryInputError, RegistryErrorCode } from './errors.js';

/**
 * What each kind of entry holds. Values travel as JSON and are parsed with these schemas at both
 * edges: when registered (a mistake of ours fails at once, naming the field) and when read back (a
 * foreign or corrupt value is reported, never trusted). Unknown fields are dropped, so a newer node
 * may add fields without breaking an older reader.
 */
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:7070' });
const isoTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2024-05-01T12:00:00.000Z' });
const count = z.number('must be a non-negative integer').int('must be a non-negative integer').nonnegative('must be a non-negative integer');

export const jobmanInfoSchema = z.object({
  /** Base URL of the Jobman's HTTP API. */
  url: httpUrl,
  /** When this Jobman started (ISO 8601). */
  startedAt: isoTime,
});

export const taskmanInfoSchema = z.object({
  /** Base URL where the Taskman answers, when it listens (it need not: it pulls from the Jobman). */
  url: httpUrl.optional(),
  /** The host the Taskman connects from, as the Jobman sees it. */
  address: z.string('must be a host address').min(1, 'must be a host address').optional(),
  /** Worker processes it runs. */
  workers: count,
  /** When this Taskman started (ISO 8601). */
  startedAt: isoTime,
});

export const clientInfoSchema = z.object({
  /** Host name the client runs on. */
  host: z.string('must be a host name').min(1, 'must be a host name'),
  /** The client's process id. */
  pid: count,
  /** When the client connected (ISO 8601). */
  connectedAt: isoTime,
  /** Where the client can be reached back, when it listens (the paper registers the client's address). */
  address: httpUrl.optional(),
});

/** The Jobman's entry: there is at most one live Jobman per registry prefix. */
export type JobmanInfo = z.output<typeof jobmanInfoSchema>;
/** One Taskman's entry, keyed by its node name. */
export type TaskmanInfo = z.output<typeof taskmanInfoSchema>;
/** One connected client's entry, keyed by its client id. */
export type ClientInfo = z.output<typeof clientInfoSchema>;

/** The value type of each kind. */
export interface RegistryValues {
  jobman: JobmanInfo;
  taskman: TaskmanInfo;
  client: ClientInfo;
}

/** The kinds of entry, in the order the engine starts them. */
export const REGISTRY_KINDS = ['jobman', 'taskman', 'client'] as const;
/** A kind of entry: `jobman`, `taskman` or `client`. */
export type RegistryKind = (typeof REGISTRY_KINDS)[number];

const schemas: { [K in RegistryKind]: z.ZodType<RegistryValues[K]> } = {
  jobman: jobmanInfoSchema,
  taskman: taskmanInfoSchema,
  client: clientInfoSchema,
};

/**
 * Kinds with at most one live entry whatever its id. For the others the rule is per id: a second
 * live registration of the same node name or client id fails, so two Taskmen started with the same
 * `--node` cannot silently take each other's place.
 */
export const SINGLETON_KINDS: ReadonlySet<RegistryKind> = new Set<RegistryKind>(['jobman']);

/** Ids become one key segment: letters, digits and `._:@-`, starting with a letter or digit, at most 200. */
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$/;

/** Throws a clear error unless `kind` is one of {@link REGISTRY_KINDS}. */
export function checkKind(kind: unknown): asserts kind is RegistryKind {
  if (typeof kind !== 'string' || !(REGISTRY_KINDS as readonly string[]).includes(kind)) {
    throw new InvalidRegistryInputError(RegistryErrorCode.invalidOption, 'kind', `must be one of ${REGISTRY_KINDS.join(', ')}`, kind);
  }
}

/** True when `id` can be used as an entry id. */
export function isValidId(id: unknown): id is string {
  return typeof id === 'string' && ID_PATTERN.test(id);
}

/** Throws a clear error unless `id` is a valid entry id. */
export function checkId(id: unknown): asserts id is string {
  if (!isValidId(id)) {
    throw new InvalidRegistryInputError(
      RegistryErrorCode.invalidOption,
      'id',
      'must be 1-200 characters of letters, digits and ._:@- starting with a letter or digit',
      id,
    );
  }
}

/** Validates a value on its way in and returns the JSON to store; errors name the field. */
export function encodeValue<K extends RegistryKind>(kind: K, value: unknown): string {
  const result = schemas[kind].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path ?? [];
    let bad: unknown = value;
    for (const key of path) bad = typeof bad === 'object' && bad !== null ? (bad as Record<PropertyKey, unknown>)[key] : undefined;
    throw new InvalidRegistryInputError(
      RegistryErrorCode.invalidValue,
      [`${kind} value`, ...path.map(String)].join('.'),
      issue?.message ?? 'is invalid',
      bad,
    );
  }
  return JSON.stringify(result.data);
}

/** Parses a stored value on its way out; the reason says what is wrong, or the value is returned. */
export function decodeValue<K extends RegistryKind>(
  kind: K,
  json: string,
): { ok: true; value: RegistryValues[K] } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return { ok: false, reason: `value is not JSON: ${json.length > 60 ? `${json.slice(0, 57)}...` : json}` };
  }
  const result = schemas[kind].safeParse(raw);
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? `field ${issue.path.join('.')} ` : '';
  return { ok: false, reason: `not a ${kind} value: ${field}${issue?.message ?? 'is invalid'}` };
}
