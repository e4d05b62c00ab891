import { test } from 'node:test';
import assert from 'node:assert/strict';
import { excessIPs, maintain, neededIPs, type CiliumConfig } from './cilium.ts';

const base: CiliumConfig = { preAllocate: 8, minAllocate: 0, maxAllocate: 0, maxAboveWatermark: 0, releaseExcess: true, excessReleaseDelayMs: 180_000, maxENI: 3, ipv4PerENI: 10 };

test('neededIPs table (calculateNeededIPs)', () => {
  const cases = [
    { c: {}, available: 0, used: 0, want: 8 },
    { c: {}, available: 10, used: 5, want: 3 },
    { c: {}, available: 20, used: 5, want: 0 },
    { c: { minAllocate: 12 }, available: 4, used: 0, want: 8 },
    { c: { minAllocate: 15 }, available: 4, used: 0, want: 11 },
    { c: { maxAllocate: 10 }, available: 8, used: 8, want: 2 },
  ];
  for (const k of cases) assert.equal(neededIPs({ ...base, ...k.c }, k.available, k.used), k.want, JSON.stringify(k));
});

test('excessIPs table (calculateExcessIPs)', () => {
  const cases = [
    { c: {}, available: 20, used: 2, want: 10 },
    { c: {}, available: 10, used: 2, want: 0 },
    { c: { maxAboveWatermark: 4 }, available: 20, used: 2, want: 6 },
    { c: { minAllocate: 10, maxAboveWatermark: 0, preAllocate: 0 }, available: 16, used: 0, want: 6 },
    { c: { minAllocate: 10 }, available: 10, used: 0, want: 0 },
  ];
  for (const k of cases) assert.equal(excessIPs({ ...base, ...k.c }, k.available, k.used), k.want, JSON.stringify(k));
});

test('one action per cycle: assign on an ENI with room, else create; release only after the delay', () => {
  assert.deepEqual(maintain(base, [{ id: 'p', ips: 0, free: 0 }], 0, { surge: 0, nowMs: 0 }), { kind: 'assign', eniId: 'p', count: 8 });
  assert.deepEqual(maintain(base, [{ id: 'p', ips: 9, free: 1 }], 8, { surge: 0, nowMs: 0 }), { kind: 'createEni', count: 7 });
  const enis = [{ id: 'p', ips: 9, free: 9 }, { id: 'e', ips: 9, free: 9 }];
  assert.deepEqual(maintain(base, enis, 0, { surge: 0, excessSinceMs: 0, nowMs: 60_000 }), { kind: 'none' });
  assert.deepEqual(maintain(base, enis, 0, { surge: 0, excessSinceMs: 0, nowMs: 180_000 }), { kind: 'release', eniId: 'e', count: 9 });
});
