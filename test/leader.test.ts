// Lease election against kube-sim over real HTTP with client-node, on a ManualClock.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { ManualClock, ScaledClock, type Clock } from '../lib/clock.ts';
import { silentLogger } from '../lib/log.ts';
import { LeaderElector, microTime } from '../lib/leader.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';

const sims: KubeSim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

// Time is a ManualClock: it moves only in `run`, in small steps, and after each step the test waits
// (in real time, however long the machine takes) until every Lease call the electors started has
// answered. So every bound below is exact in clock time and no real-time speed can break it.
const STEP_MS = 100;

async function setup() {
  const clock = new ManualClock();
  const sim = await startKubeSim({ clock });
  sims.push(sim);
  const real = sim.kubeConfig().makeApiClient(CoordinationV1Api);
  // Counts the Lease calls in flight over real HTTP (the calls themselves are the real client's).
  let inflight = 0;
  const api = new Proxy(real, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        inflight++;
        return (v as (...a: unknown[]) => Promise<unknown>).apply(target, args).finally(() => { inflight--; });
      };
    },
  });
  /** Resolves once no call is in flight at a macrotask boundary (their continuations have run). */
  const settle = async () => {
    for (let quiet = 0; quiet < 2;) {
      await new Promise((r) => setTimeout(r, 1));
      quiet = inflight === 0 ? quiet + 1 : 0;
    }
  };
  /** Advances the clock by ms in steps, letting the electors finish what each step started. */
  const run = async (ms: number) => {
    await settle();
    for (let done = 0; done < ms; done += STEP_MS) { clock.advance(Math.min(STEP_MS, ms - done)); await settle(); }
  };
  /** Runs the clock until cond holds; returns the clock ms it took. */
  const until = async (cond: () => boolean, maxClockMs: number) => {
    const t0 = clock.now();
    await settle();
    while (!cond()) {
      if (clock.now() - t0 > maxClockMs) throw new Error(`condition not met within ${maxClockMs} clock ms`);
      await run(STEP_MS);
    }
    return clock.now() - t0;
  };
  return { clock, sim, api, run, until };
}

function elector(api: CoordinationV1Api, clock: Clock, identity: string, log: string[]) {
  return new LeaderElector({
    api, clock, identity, name: 'eni-ipam-allocator', namespace: 'kube-system', logger: silentLogger(),
    onStartedLeading: () => log.push(`${identity}:start@${clock.now()}`),
    onStoppedLeading: (r) => log.push(`${identity}:stop:${r}`),
  });
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
  const { clock, api, run, until } = await setup();
  const log: string[] = [];
  const a = elector(api, clock, 'a', log);
  a.start();
  await until(() => a.isLeader(), 5_000);
  const b = elector(api, clock, 'b', log);
  b.start();
  // b watches a renew for a while and never leads.
  await run(20_000);
  assert.equal(b.isLeader(), false);
  assert.equal(b.leader(), 'a');
  const lease = await api.readNamespacedLease({ name: 'eni-ipam-allocator', namespace: 'kube-system' });
  assert.equal(lease.spec?.holderIdentity, 'a');
  assert.equal(lease.spec?.leaseDurationSeconds, 15);
  // Crash: a stops renewing without releasing.
  await a.stop({ release: false });
  const took = await until(() => b.isLeader(), 30_000);
  assert.ok(took <= 15_000 + 2_000 + 1_000, `took over after ${took} clock ms (lease 15 s + one retry period)`);
  assert.ok(took >= 10_000, `not before the lease could expire (took ${took} ms)`);
  const l2 = await api.readNamespacedLease({ name: 'eni-ipam-allocator', namespace: 'kube-system' });
  assert.equal(l2.spec?.holderIdentity, 'b');
  assert.equal(l2.spec?.leaseTransitions, 1);
  await b.stop();
});

test('a released lease is taken over within one retry period', async () => {
  const { clock, api, run, until } = await setup();
  const log: string[] = [];
  const a = elector(api, clock, 'a', log);
  a.start();
  await until(() => a.isLeader(), 5_000);
  const b = elector(api, clock, 'b', log);
  b.start();
  await run(3_000);
  await a.stop();
  const took = await until(() => b.isLeader(), 10_000);
  assert.ok(took <= 3_000, `took ${took} clock ms`);
  assert.ok(!log.some((l) => l.startsWith('a:stop')), 'a voluntary stop is not a loss');
  await b.stop();
});

test('a leader that cannot renew stops leading within the renew deadline, before the lease expires', async () => {
  const { clock, api, sim, until } = await setup();
  const log: string[] = [];
  const a = elector(api, clock, 'a', log);
  a.start();
  await until(() => a.isLeader(), 5_000);
  const renewedAt = clock.now();
  sim.setConflictInjection({ probability: 1 });
  const took = await until(() => !a.isLeader(), 20_000);
  assert.ok(took <= 10_000 + 2_000 + 1_000, `gave up after ${took} clock ms`);
  assert.ok(clock.now() - renewedAt < 15_000, 'gave up before anyone else could take the lease');
  assert.equal(log.filter((l) => l.startsWith('a:stop')).length, 1);
  assert.match(log.find((l) => l.startsWith('a:stop'))!, /not renewed/);
  sim.setConflictInjection(undefined);
});

test('a leader whose calls hang stops leading at its renew deadline, before anyone else can lead (no two-leader window)', async () => {
  const { clock, api, run, until } = await setup();
  const log: string[] = [];
  // a's connection dies at `hang`: from then on its Lease calls never answer (not counted as in flight).
  let hang = false;
  const hanging = new Proxy(api, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (hang ? new Promise<never>(() => undefined) : (v as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
  const a = elector(hanging, clock, 'a', log);
  a.start();
  await until(() => a.isLeader(), 5_000);
  const b = elector(api, clock, 'b', log);
  b.start();
  await run(4_000);
  assert.equal(b.leader(), 'a');
  hang = true;
  const hungAt = clock.now();
  let aStopped: number | undefined;
  let bStarted: number | undefined;
  while (bStarted === undefined && clock.now() - hungAt <= 40_000) {
    await run(STEP_MS);
    assert.ok(!(a.isLeader() && b.isLeader()), `two leaders ${clock.now() - hungAt} clock ms after a's calls began to hang`);
    if (aStopped === undefined && !a.isLeader()) aStopped = clock.now() - hungAt;
    if (b.isLeader()) bStarted = clock.now() - hungAt;
  }
  assert.ok(aStopped !== undefined && aStopped <= 10_000 + STEP_MS, `a stopped leading ${aStopped} clock ms after the hang (renew deadline 10 s)`);
  assert.ok(bStarted !== undefined && bStarted > aStopped, `b leads (${bStarted} ms) only after a stopped (${aStopped} ms)`);
  assert.ok(log.some((l) => l.startsWith('a:stop:') && /not renewed/.test(l)), log.join('\n'));
  await a.stop({ release: false });
  await b.stop();
});
