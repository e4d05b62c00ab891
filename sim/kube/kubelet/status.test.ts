import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podIPFor, runningStatus, runSecondsOf, succeededStatus, RUN_SECONDS_KEY } from './status.ts';

test('runSecondsOf: annotation, then label; invalid → undefined', () => {
  const cases: Array<[object, number | undefined]> = [
    [{}, undefined],
    [{ metadata: { annotations: { [RUN_SECONDS_KEY]: '2.5' } } }, 2.5],
    [{ metadata: { labels: { [RUN_SECONDS_KEY]: '30' } } }, 30],
    [{ metadata: { annotations: { [RUN_SECONDS_KEY]: '1' }, labels: { [RUN_SECONDS_KEY]: '9' } } }, 1],
    [{ metadata: { annotations: { [RUN_SECONDS_KEY]: 'soon' } } }, undefined],
    [{ metadata: { annotations: { [RUN_SECONDS_KEY]: '-1' } } }, undefined],
  ];
  for (const [pod, want] of cases) assert.equal(runSecondsOf(pod), want, JSON.stringify(pod));
});

test('podIPFor: allocation annotation, else a stable fake in 100.64/10', () => {
  assert.deepEqual(podIPFor({ metadata: { annotations: { 'eni-ipam.io/allocation': '{"ip":"10.1.2.3","eni":"eni-1"}' } } }), { ip: '10.1.2.3', fromAllocation: true });
  const a = podIPFor({ metadata: { uid: 'u1', annotations: { 'eni-ipam.io/allocation': 'not json' } } });
  assert.equal(a.fromAllocation, false);
  assert.deepEqual(podIPFor({ metadata: { uid: 'u1' } }), a);
  assert.notEqual(podIPFor({ metadata: { uid: 'u2' } }).ip, a.ip);
  for (const uid of ['a', 'b', 'c', 'd', 'e']) {
    const [o1, o2, o3, o4] = podIPFor({ metadata: { uid } }).ip.split('.').map(Number);
    assert.equal(o1, 100);
    assert.ok(o2! >= 64 && o2! < 128 && o3! >= 0 && o3! < 256 && o4! >= 1 && o4! <= 254);
  }
});

test('runningStatus then succeededStatus keep PodScheduled and the start time', () => {
  const pod = {
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: '2026-01-01T00:00:00.000Z' }] },
  };
  const r = runningStatus(pod, '2026-01-01T00:00:01.000Z', '10.0.0.9', '192.168.0.1');
  assert.equal(r.phase, 'Running');
  assert.equal(r.podIP, '10.0.0.9');
  assert.equal(r.hostIP, '192.168.0.1');
  assert.equal(r.startTime, '2026-01-01T00:00:01.000Z');
  const conds = r.conditions as Array<{ type: string; status: string; lastTransitionTime: string }>;
  assert.equal(conds.find((c) => c.type === 'Ready')!.status, 'True');
  assert.equal(conds.find((c) => c.type === 'PodScheduled')!.lastTransitionTime, '2026-01-01T00:00:00.000Z');
  const running = { ...pod, status: { ...pod.status, ...r } } as Parameters<typeof succeededStatus>[0];
  const s = succeededStatus(running, '2026-01-01T00:00:05.000Z');
  assert.equal(s.phase, 'Succeeded');
  const sc = s.conditions as Array<{ type: string; status: string; reason?: string }>;
  assert.deepEqual(sc.find((c) => c.type === 'Ready'), { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: '2026-01-01T00:00:05.000Z', lastProbeTime: null });
  const cs = (s.containerStatuses as Array<{ state: { terminated: { exitCode: number; startedAt: string } } }>)[0]!;
  assert.equal(cs.state.terminated.exitCode, 0);
  assert.equal(cs.state.terminated.startedAt, '2026-01-01T00:00:01.000Z');
});
