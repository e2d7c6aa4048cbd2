/**
 * The engine's public face for programs and the layers above: clients of a cluster (the Jobman's API,
 * the RS-UDF interfaces, an embedded cluster), the task registry's types, the home directory's token,
 * and the wire schemas and limits a client checks against. Loading it starts no server and loads no
 * database driver; the servers themselves are in `servers.ts`.
 */
export * from './client/index.js';
export { defineUdf, isUdf, type Udf, type UdfContext, type UdfLogger, type UdfSpec } from './udf/define.js';
export type { Task, TaskContext } from './tasks/builtins.js';
export { DIAGNOSTIC_TASKS, TaskRegistry, UnknownTaskError, type TaskAccess, type TaskName, type TaskPackage, type TaskStorageUse } from './tasks/registry.js';
export { readCa, readToken, resolveHome, resolveJobmanUrl, tokenPath } from './home.js';
export { mintNodeToken, nodeOfToken, nodeSecretPath, nodeTokenFromHome, readTokenPath, type Role } from './credentials.js';
export { MIN_BODY_BYTES, submitJobSchema } from './api/schemas.js';
export { FAILURE_POLICIES, MAX_INPUTS, MAX_MEMORY_MB, MAX_RETRIES, MAX_TIMEOUT_MS, MIN_MEMORY_MB, type FailurePolicy, type JsonValue } from './store/index.js';
