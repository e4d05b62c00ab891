import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkPool } from '../lib/enipool/capacity-fixtures.ts';
import { filterNodes, prioritizeNodes, type DecideConfig } from './filter.ts';
import { filterReplyJSON, NameResolver, prioritizeReplyJSON } from './filter.ts';
import { needCode, podNeed } from '../lib/enipool/need.ts';
import type { ExtenderPod } from './need.ts';
import { CapacityIndex } from './pool-index.ts';

const SN = 'subnet-1';
const pods: ExtenderPod[] = [
  { spec: { containers: [{}] } },
  { spec: { hostNetwork: true } },
  { spec: { containers: [{ resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }] } },
];

function randomIndex(seed: number, n: number): CapacityIndex {
  let x = seed;
  const rnd = (k: number) => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x % k; };
  const idx = new CapacityIndex();
  for (let i = 0; i < n; i++) {
    if (rnd(10) === 0) continue; // unmanaged
    idx.upsert(mkPool({
      trunk: rnd(2) ? 'eni-t' : undefined,
      limits: { maxENI: 1 + rnd(4), ipv4PerENI: 2 + rnd(10), branchENI: rnd(4), trunking: rnd(3) > 0 },
      enis: Array.from({ length: 1 + rnd(3) }, (_, d) => [`eni-${d}`, d, SN, { free: rnd(3), reserved: rnd(6), cooldown: rnd(2) }] as [string, number, string, Record<string, number>]),
      subnets: [[SN, '10.0.0.0/24', rnd(4)]],
      branches: { attached: rnd(3), cooldown: rnd(2) },
      unmet: { ips: rnd(3), branch: rnd(2) },
    }, `n-"${i}"`)); // quotes in names exercise JSON escaping
  }
  return idx;
}

test('fast replies equal the object-building reference, for random pools, pods and policies', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const idx = randomIndex(seed, 60);
    const names = [...Array.from({ length: 60 }, (_, i) => `n-"${i}"`), 'n-"3"', 'never-seen'];
    const resolver = new NameResolver(idx);
    for (const noPoolPolicy of ['pass', 'fail'] as const) {
      const cfg: DecideConfig = { branchResource: 'vpc.amazonaws.com/pod-eni', branchPodsNeedIP: seed % 2 === 0, noPoolPolicy };
      for (const pod of pods) {
        const code = needCode(podNeed(pod, cfg));
        const ref = filterNodes(pod, names, idx, cfg);
        const rejected = {};
        const fast = JSON.parse(filterReplyJSON(resolver.resolve([...names]), code, cfg, rejected));
        assert.deepEqual(fast, {
          Nodes: null, NodeNames: ref.passed.map((i) => names[i]), FailedNodes: ref.failed, FailedAndUnresolvableNodes: ref.unresolvable, Error: '',
        }, `seed ${seed}`);
        assert.deepEqual(rejected, ref.rejected);
        assert.deepEqual(JSON.parse(prioritizeReplyJSON(resolver.resolve([...names]), code)), prioritizeNodes(pod, names, idx, cfg));
      }
    }
  }
});

test('NameResolver: pool updates show through the memo; pools added or removed invalidate it', () => {
  const idx = new CapacityIndex();
  const warm = mkPool({ enis: [['eni-0', 0, SN, { free: 3 }]] }, 'a');
  const full = mkPool({ enis: [['eni-0', 0, SN, { reserved: 9 }], ['eni-1', 1, SN, { reserved: 9 }], ['eni-2', 2, SN, { reserved: 9 }]] }, 'a');
  idx.upsert(warm);
  const resolver = new NameResolver(idx);
  const cfg: DecideConfig = { branchResource: 'x', branchPodsNeedIP: true, noPoolPolicy: 'fail' };
  const run = () => JSON.parse(filterReplyJSON(resolver.resolve(['a', 'b']), 1, cfg, {})) as { NodeNames: string[]; FailedNodes: object; FailedAndUnresolvableNodes: object };
  assert.deepEqual(run().NodeNames, ['a']);
  const first = resolver.resolve(['a', 'b']);
  idx.upsert(full);
  assert.equal(resolver.resolve(['a', 'b']), first, 'update keeps the memo');
  assert.deepEqual(run().NodeNames, []);
  assert.deepEqual(Object.keys(run().FailedNodes), ['a']);
  idx.upsert(mkPool({ enis: [['eni-0', 0, SN, { free: 1 }]] }, 'b'));
  assert.notEqual(resolver.resolve(['a', 'b']), first, 'new pool invalidates');
  assert.deepEqual(run().NodeNames, ['b']);
  idx.remove(full);
  assert.deepEqual(Object.keys(run().FailedAndUnresolvableNodes), ['a']);
});

test('filter reply memo: reused while outcomes and reasons hold, rebuilt when a reason or verdict changes', () => {
  const idx = new CapacityIndex();
  const fullWith = (cooldown: number) => mkPool({ maxIPs: 9, enis: [['eni-0', 0, SN, { reserved: 9 - cooldown, releasing: cooldown }]] }, 'a');
  idx.upsert(fullWith(0));
  idx.upsert(mkPool({ enis: [['eni-0', 0, SN, { free: 3 }]] }, 'b'));
  const resolver = new NameResolver(idx);
  const cfg: DecideConfig = { branchResource: 'x', branchPodsNeedIP: true, noPoolPolicy: 'pass' };
  const reply = () => filterReplyJSON(resolver.resolve(['a', 'b']), 1, cfg, {});
  const first = reply();
  idx.upsert(mkPool({ enis: [['eni-0', 0, SN, { free: 2, reserved: 1 }]] }, 'b')); // b still passes
  assert.equal(reply(), first);
  const counts: Record<string, number> = {};
  filterReplyJSON(resolver.resolve(['a', 'b']), 1, cfg, counts);
  assert.deepEqual(counts, { max_ips: 1 }, 'metrics counted on a memo hit too');
  idx.upsert(mkPool({ maxIPs: 5, enis: [['eni-0', 0, SN, { reserved: 5 }]] }, 'a')); // same verdict, new reason
  assert.match(JSON.parse(reply()).FailedNodes.a, /maxIPs cap 5 reached/);
  idx.upsert(mkPool({ enis: [['eni-0', 0, SN, { reserved: 9 }], ['eni-1', 1, SN, { reserved: 9 }], ['eni-2', 2, SN, { reserved: 9 }]] }, 'b'));
  assert.deepEqual(JSON.parse(reply()).NodeNames, []);
});

test('prioritize reply memo: reused while every score holds, rebuilt when one moves', () => {
  const idx = new CapacityIndex();
  const withFree = (free: number) => mkPool({ enis: [['eni-0', 0, SN, { free, reserved: 9 - free }]] }, 'a');
  idx.upsert(withFree(3));
  const resolver = new NameResolver(idx);
  const pod: ExtenderPod = { spec: { containers: [{}] } };
  const cfg: DecideConfig = { branchResource: 'x', branchPodsNeedIP: true, noPoolPolicy: 'pass' };
  const reply = () => prioritizeReplyJSON(resolver.resolve(['a', 'b']), 1);
  const first = reply();
  assert.equal(reply(), first, 'same scores: the same reply');
  assert.deepEqual(JSON.parse(first), prioritizeNodes(pod, ['a', 'b'], idx, cfg));
  let moved = false;
  for (const free of [0, 1, 2, 4, 5, 6, 7, 8, 9]) {
    idx.upsert(withFree(free));
    assert.deepEqual(JSON.parse(reply()), prioritizeNodes(pod, ['a', 'b'], idx, cfg), `free ${free}`);
    if (JSON.parse(reply())[0].Score !== JSON.parse(first)[0].Score) moved = true;
  }
  assert.ok(moved, 'some pool change moved the score, and the reply followed it');
});
