import { MAX_HEARTBEAT_CHANGE_BYTES } from '../api/schemas.js';
import type { ReportedChange } from '../jobman/types.js';

/**
 * Takes the changes for the next heartbeat from the front of `pending`: at most `maxChanges`, and at
 * most MAX_HEARTBEAT_CHANGE_BYTES of JSON, so the heartbeat stays under the Jobman's body limit. A
 * change too large to travel even alone (a huge result) fails its attempt instead, with
 * ERR_RESULT_TOO_LARGE, rather than block every report behind it. Returns the batch and what is left.
 */
export function takeHeartbeatChanges(pending: readonly ReportedChange[], maxChanges: number): { changes: ReportedChange[]; rest: ReportedChange[] } {
  const changes: ReportedChange[] = [];
  let bytes = 0;
  let i = 0;
  for (; i < pending.length && changes.length < maxChanges; i++) {
    let c = pending[i]!;
    let size = jsonBytes(c);
    if (size > MAX_HEARTBEAT_CHANGE_BYTES) {
      c = { id: c.id, attempt: c.attempt, to: 'failed', error: { message: `the result is ${size} bytes of JSON, more than a heartbeat carries (${MAX_HEARTBEAT_CHANGE_BYTES} bytes)`, code: 'ERR_RESULT_TOO_LARGE' } };
      size = jsonBytes(c);
    }
    if (changes.length > 0 && bytes + size > MAX_HEARTBEAT_CHANGE_BYTES) break;
    changes.push(c);
    bytes += size;
  }
  return { changes, rest: i === 0 ? [...pending] : pending.slice(i) };
}

function jsonBytes(c: ReportedChange): number {
  return Buffer.byteLength(JSON.stringify(c), 'utf8');
}
