import { test } from 'node:test';
import assert from 'node:assert/strict';
import { callLatencyMs, TYPICAL_EC2_LATENCY, type LatencyProfile } from './latency.ts';

test('callLatencyMs: base per action, jitter within ±jitter, default for unknown actions', () => {
  const p: LatencyProfile = { perActionMs: { CreateNetworkInterface: 500 }, defaultMs: 100, jitter: 0.2 };
  const cases: [string, number, number][] = [
    ['CreateNetworkInterface', 0.5, 500], ['CreateNetworkInterface', 0, 400], ['CreateNetworkInterface', 1, 600],
    ['SomethingElse', 0.5, 100], ['SomethingElse', 0, 80], ['toString', 0.5, 100],
  ];
  for (const [action, r, want] of cases) assert.equal(callLatencyMs(p, action, () => r), want, `${action} @${r}`);
  assert.equal(callLatencyMs({ ...p, jitter: 2 }, 'SomethingElse', () => 0), 0, 'never negative');
});

test('TYPICAL_EC2_LATENCY: mutating ENI calls cost more than describes', () => {
  const t = TYPICAL_EC2_LATENCY.perActionMs;
  assert.ok(t.CreateNetworkInterface! > t.DescribeNetworkInterfaces!);
  assert.ok(t.AssociateTrunkInterface! > t.AssignPrivateIpAddresses!);
});
