import type { Role } from '../credentials.js';

/**
 * What each role may do on the Jobman's API, by route pattern (fastify's `routeOptions.url`):
 *
 * | route                                   | admin | read | node N |
 * |-----------------------------------------|-------|------|--------|
 * | `GET /healthz`                          | yes   | yes  | yes (no token needed) |
 * | `POST /v1/nodes/N/join\|heartbeat\|leave` | no    | no   | its own N only |
 * | `GET /v1/udfs/:sha256`                  | yes   | no   | yes    |
 * | any other GET (jobs, results, nodes...) | yes   | yes  | no     |
 * | anything else (submit, cancel, upload)  | yes   | no   | no     |
 *
 * The API token does not open the Taskman link: a node's work and its inputs go only to a Taskman that
 * holds that node's own token.
 */

/** Why `role` may not make this request, or undefined when it may. */
export function refusal(role: Role, method: string, route: string | undefined, params: unknown): string | undefined {
  const link = route !== undefined && /^\/v1\/nodes\/:name\/[a-z]+$/.test(route);
  if (link) {
    if (role.kind !== 'node') return `the Taskman link (${route}) takes a node token, not the ${roleName(role)}; mint one with \`databox node-token NODE\``;
    const name = (params as { name?: unknown } | undefined)?.name;
    return name === role.node ? undefined : `the node token of ${JSON.stringify(role.node)} cannot speak for node ${JSON.stringify(name)}`;
  }
  const reading = method === 'GET' || method === 'HEAD';
  if (route === '/v1/udfs/:sha256' && reading) return role.kind === 'read' ? 'the read-only token cannot download UDF code' : undefined;
  if (role.kind === 'admin') return undefined;
  if (role.kind === 'read') return reading ? undefined : `the read-only token can only read (GET), not ${method} ${route ?? ''}`.trimEnd();
  return `a node token opens only its node's Taskman link and UDF downloads, not ${method} ${route ?? ''}`.trimEnd();
}

function roleName(role: Role): string {
  return role.kind === 'admin' ? 'API token' : role.kind === 'read' ? 'read-only token' : `node token of ${role.node}`;
}
