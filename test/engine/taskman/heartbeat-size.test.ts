import { describe, expect, it } from 'vitest';

import { MAX_HEARTBEAT_CHANGE_BYTES, MIN_BODY_BYTES } from '../../../src/engine/api/schemas.js';
import type { ReportedChange } from '../../../src/engine/jobman/types.js';
import { takeHeartbeatChanges } from '../../../src/engine/taskman/heartbeat-size.js';

const MiB = 1024 * 1024;
const success = (id: number, bytes: number): ReportedChange => ({ id: String(id), attempt: 1, to: 'succeeded', result: 'x'.repeat(bytes) });

describe('a heartbeat’s changes', () => {
  it('stay under 8 MiB of JSON, half the smallest body limit a Jobman takes; the rest waits for the next', () => {
    expect(MIN_BODY_BYTES).toBe(2 * MAX_HEARTBEAT_CHANGE_BYTES);
    const pending = [success(1, 3 * MiB), success(2, 3 * MiB), success(3, 3 * MiB)];
    const first = takeHeartbeatChanges(pending, 20_000);
    expect(first.changes.map((c) => c.id)).toEqual(['1', '2']);
    expect(Buffer.byteLength(JSON.stringify(first.changes))).toBeLessThan(MAX_HEARTBEAT_CHANGE_BYTES);
    expect(takeHeartbeatChanges(first.rest, 20_000)).toEqual({ changes: [pending[2]], rest: [] });
  });

  it('stay under the count limit', () => {
    const pending = Array.from({ length: 25_000 }, (_, i) => success(i + 1, 1));
    const { changes, rest } = takeHeartbeatChanges(pending, 20_000);
    expect([changes.length, rest.length]).toEqual([20_000, 5_000]);
  });

  it('turn a result too large to travel into a failure, rather than block every report behind it', () => {
    const { changes, rest } = takeHeartbeatChanges([success(1, 9 * MiB), success(2, 10)], 20_000);
    expect(rest).toEqual([]);
    expect(changes[0]).toMatchObject({ id: '1', attempt: 1, to: 'failed', error: { code: 'ERR_RESULT_TOO_LARGE' } });
    expect(changes[0]!.error!.message).toContain(`more than a heartbeat carries (${MAX_HEARTBEAT_CHANGE_BYTES} bytes)`);
    expect(changes[1]).toEqual(success(2, 10));
  });
});
