// Lease election against kube-sim over real HTTP with client-node.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { ScaledClock, type Clock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { LeaderElector, microTime } from '../lib/leader.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';

const sims: KubeSim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

// 20x: a 15 s lease is 750 ms of real time.
const SPEED = 20;

async function setup() {
  const clock = new ScaledClock(SPEED);
  const sim = await startKubeSim({ clock });
  sims.push(sim);
  return { clock, sim, api: sim.kubeConfig().makeApiClient(CoordinationV1Api) };
}

function elector(api: CoordinationV1Api, clock: Clock, identity: string, log: string[]) {
  return new LeaderElector({
    api, clock, identity, name: 'eni-ipam-allocator', namespace: 'kube-system', logger: silentLogger(),
    onStartedLeading: () => log.push(`${identity}:start@${clock.now()}`),
    onStoppedLeading: (r) => log.push(`${identity}:stop:${r}`),
  });
}

async function until(clock: Clock, cond: () => boolean, maxClockMs: number): Promise<number> {
  const t0 = clock.now();
  while (!cond()) {
    if (clock.now() - t0 > maxClockMs) throw new Error(`condition not met within ${maxClockMs} clock ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
  return clock.now() - t0;
}

test('microTime has microseconds', () => {
  assert.equal(microTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), '2026-01-02T03:04:05.678000Z');
});

test('options are validated: renew deadline < lease < ...', () => {
  const api = {} as CoordinationV1Api;
  assert.throws(() => new LeaderElector({ api, clock: new ScaledClock(1), identity: 'a', name: 'l', namespace: 'n', leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }), /renew deadline/);
  assert.throws(() => new LeaderElector({ api, clock: new ScaledClock(1), identity: 'a', name: 'l', namespace: 'n', retryPeriodMs: 10_000 }), /retry period/);
});

test('one leader at a time; a crashed leader is replaced within the lease duration', async () => {
  const { clock, api } = await setup();
  const log: string[] = [];
  const a = elector(api, clock, 'a', log);
  a.start();
  await until(clock, () => a.isLeader(), 5_000);
  const b = elector(api, clock, 'b', log);
  b.start();
  // b watches a renew for a while and never leads.
  await clock.sleep(20_000);
  assert.equal(b.isLeader(), false);
  assert.equal(b.leader(), 'a');
  const lease = await api.readNamespacedLease({ name: 'eni-ipam-allocator', namespace: 'kube-system' });
  assert.equal(lease.spec?.holderIdentity, 'a');
  assert.equal(lease.spec?.leaseDurationSeconds, 15);
  // Crash: a stops renewing without releasing.
  await a.stop({ release: false });
  const took = await until(clock, () => b.isLeader(), 30_000);
  assert.ok(took <= 15_000 + 2_000 + 1_000, `took over after ${took} clock ms (lease 15 s + one retry period)`);
  assert.ok(took >= 10_000, `not before the lease could expire (took ${took} ms)`);
  const l2 = await api.readNamespacedLease({ name: 'eni-ipam-allocator', namespace: 'kube-system' });
  assert.equal(l2.spec?.holderIdentity, 'b');
  assert.equal(l2.spec?.leaseTransitions, 1);
  await b.stop();
});

test('a released lease is taken over within one retry period', async () => {
  const { clock, api } = await setup();
  const log: string[] = [];
  const a = elector(api, clock, 'a', log);
  a.start();
  await until(clock, () => a.isLeader(), 5_000);
  const b = elector(api, clock, 'b', log);
  b.start();
  await clock.sleep(3_000);
  await a.stop();
  const took = await until(clock, () => b.isLeader(), 10_000);
  assert.ok(took <= 3_000, `took ${took} clock ms`);
  assert.ok(!log.some((l) => l.startsWith('a:stop')), 'a voluntary stop is not a loss');
  await b.stop();
});

test('a leader that cannot renew stops leading within the renew deadline, before the lease expires', async () => {
  const { clock, api, sim } = await setup();
  const log: string[] = [];
  const a = elector(api, clock, 'a', log);
  a.start();
  await until(clock, () => a.isLeader(), 5_000);
  const renewedAt = clock.now();
  sim.setConflictInjection({ probability: 1 });
  const took = await until(clock, () => !a.isLeader(), 20_000);
  assert.ok(took <= 10_000 + 2_000 + 1_000, `gave up after ${took} clock ms`);
  assert.ok(clock.now() - renewedAt < 15_000, 'gave up before anyone else could take the lease');
  assert.equal(log.filter((l) => l.startsWith('a:stop')).length, 1);
  assert.match(log.find((l) => l.startsWith('a:stop'))!, /not renewed/);
  sim.setConflictInjection(undefined);
});
