import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseReleaseUnits, effectiveMode, packingRank, podAddressCapacity, prefixAddresses, prefixOf, prefixUsage,
  subnetBlocks, unitsFor, vpcCniMaxPods, type AddressView,
} from './prefix.ts';

test('prefix addresses and membership', () => {
  const cases: [string, string[] | undefined][] = [
    ['10.0.1.16/28', ['10.0.1.16', '10.0.1.31']],
    ['10.0.1.17/28', undefined], // not aligned
    ['10.0.1.16/27', undefined], // not a /28
    ['10.0.255.240/28', ['10.0.255.240', '10.0.255.255']],
  ];
  for (const [cidr, ends] of cases) {
    const a = prefixAddresses(cidr);
    if (!ends) { assert.deepEqual(a, [], cidr); continue; }
    assert.equal(a.length, 16, cidr);
    assert.deepEqual([a[0], a[15]], ends, cidr);
  }
  assert.equal(prefixOf('10.0.1.21'), '10.0.1.16/28');
  assert.equal(prefixOf('10.0.1.16'), '10.0.1.16/28');
  assert.equal(prefixOf('10.0.1.15'), '10.0.1.0/28');
  assert.equal(prefixOf('nope'), undefined);
});

test('effective mode: prefixes only when asked, on Nitro, and not in a permitted fallback', () => {
  const cases: [Parameters<typeof effectiveMode>[0], string][] = [
    [{ wanted: undefined, nitro: true, fallback: false, fallbackAllowed: true }, 'ips'],
    [{ wanted: 'ips', nitro: true, fallback: false, fallbackAllowed: true }, 'ips'],
    [{ wanted: 'prefixes', nitro: true, fallback: false, fallbackAllowed: true }, 'prefixes'],
    [{ wanted: 'prefixes', nitro: false, fallback: false, fallbackAllowed: true }, 'ips'],
    [{ wanted: 'prefixes', nitro: true, fallback: true, fallbackAllowed: true }, 'ips'],
    // Fallback not allowed: stays in prefix mode (and cannot grow until a /28 frees up).
    [{ wanted: 'prefixes', nitro: true, fallback: true, fallbackAllowed: false }, 'prefixes'],
  ];
  for (const [i, want] of cases) {
    const d = effectiveMode(i);
    assert.equal(d.mode, want, JSON.stringify(i));
    assert.equal(d.why !== undefined, i.wanted === 'prefixes' && want === 'ips', JSON.stringify(i));
  }
});

test('units: a need in addresses becomes whole prefixes; the free top-up never rounds up', () => {
  const cases: [number, number, 'ips' | 'prefixes', { need: number; upTo: number }][] = [
    [1, 1, 'prefixes', { need: 1, upTo: 1 }],
    [8, 8, 'prefixes', { need: 1, upTo: 1 }],
    [16, 16, 'prefixes', { need: 1, upTo: 1 }],
    [17, 40, 'prefixes', { need: 2, upTo: 2 }],
    [17, 48, 'prefixes', { need: 2, upTo: 3 }],
    [0, 0, 'prefixes', { need: 0, upTo: 0 }],
    [5, 9, 'ips', { need: 5, upTo: 9 }],
  ];
  for (const [need, upTo, mode, want] of cases) assert.deepEqual(unitsFor(mode, need, upTo), want, `${need}/${upTo} ${mode}`);
});

/** A pool's addresses: prefixes with a given number of held addresses, plus single free IPs. */
function pool(prefixes: { p: string; eni: string; held: number; releasing?: boolean }[], singles: { ip: string; eni: string; state?: AddressView['state'] }[] = []): Record<string, AddressView> {
  const ips: Record<string, AddressView> = {};
  for (const { p, eni, held, releasing } of prefixes) {
    prefixAddresses(p).forEach((ip, i) => { ips[ip] = { eni, prefix: p, state: releasing ? 'releasing' : i < held ? 'reserved' : 'free' }; });
  }
  for (const s of singles) ips[s.ip] = { eni: s.eni, state: s.state ?? 'free' };
  return ips;
}

test('release: whole free prefixes only, never more than the excess, other kind first', () => {
  const dev = (eni: string) => Number(eni.slice(-1));
  const a = '10.0.0.16/28', b = '10.0.0.32/28', c = '10.0.0.48/28';
  const cases: { name: string; ips: Record<string, AddressView>; excess: number; mode: 'ips' | 'prefixes'; want: string[] }[] = [
    { name: 'excess below 16 releases no prefix', ips: pool([{ p: a, eni: 'eni-1', held: 0 }]), excess: 15, mode: 'prefixes', want: [] },
    { name: 'one all-free prefix', ips: pool([{ p: a, eni: 'eni-1', held: 0 }]), excess: 16, mode: 'prefixes', want: [a] },
    { name: 'partly used prefix is kept', ips: pool([{ p: a, eni: 'eni-1', held: 1 }]), excess: 40, mode: 'prefixes', want: [] },
    { name: 'highest device index first', ips: pool([{ p: a, eni: 'eni-1', held: 0 }, { p: b, eni: 'eni-2', held: 0 }]), excess: 16, mode: 'prefixes', want: [b] },
    { name: 'same ENI: highest address first', ips: pool([{ p: a, eni: 'eni-1', held: 0 }, { p: c, eni: 'eni-1', held: 0 }]), excess: 20, mode: 'prefixes', want: [c] },
    { name: 'releasing prefix is not chosen again', ips: pool([{ p: a, eni: 'eni-1', held: 0, releasing: true }]), excess: 16, mode: 'prefixes', want: [] },
    {
      name: 'prefix mode: leftover single IPs go first',
      ips: pool([{ p: a, eni: 'eni-1', held: 0 }], [{ ip: '10.0.1.5', eni: 'eni-1' }, { ip: '10.0.1.6', eni: 'eni-1' }]), excess: 17, mode: 'prefixes',
      want: ['10.0.1.6', '10.0.1.5'],
    },
    {
      name: 'ips mode (switched): whole prefixes go first',
      ips: pool([{ p: a, eni: 'eni-1', held: 0 }], [{ ip: '10.0.1.5', eni: 'eni-1' }]), excess: 17, mode: 'ips',
      want: [a, '10.0.1.5'],
    },
  ];
  for (const c of cases) {
    const got = chooseReleaseUnits(c.ips, c.excess, c.mode, dev).map((u) => u.prefix ?? u.ips[0]);
    assert.deepEqual(got, c.want, c.name);
    const total = chooseReleaseUnits(c.ips, c.excess, c.mode, dev).reduce((n, u) => n + u.ips.length, 0);
    assert.ok(total <= c.excess, `${c.name}: releases ${total} > excess ${c.excess}`);
  }
});

test('packing: the fullest prefix first, the other kind last', () => {
  const a = '10.0.0.16/28', b = '10.0.0.32/28', c = '10.0.0.48/28';
  const ips = pool([{ p: a, eni: 'eni-1', held: 3 }, { p: b, eni: 'eni-1', held: 10 }, { p: c, eni: 'eni-1', held: 0 }], [{ ip: '10.0.1.5', eni: 'eni-1' }]);
  const usage = prefixUsage(ips);
  const free = Object.entries(ips).filter(([, e]) => e.state === 'free');
  const best = (mode: 'ips' | 'prefixes') => free.sort(([x, ex], [y, ey]) => packingRank(ex, usage, mode) - packingRank(ey, usage, mode) || (x < y ? -1 : 1))[0]![0];
  assert.equal(prefixOf(best('prefixes')), b, 'fullest prefix (10 held) first');
  assert.equal(best('ips'), '10.0.1.5', 'a node that adds single IPs uses them before prefixes');
  const order = [...new Set(free.sort(([, ex], [, ey]) => packingRank(ex, usage, 'prefixes') - packingRank(ey, usage, 'prefixes')).map(([ip, e]) => e.prefix ?? ip))];
  assert.deepEqual(order, [b, a, c, '10.0.1.5']);
});

test('subnet blocks: free addresses but no aligned /28 is fragmentation', () => {
  const spread = Array.from({ length: 16 }, (_, i) => `10.0.0.${i * 16 + 7}`); // one address used in every /28 of a /24
  const cases: [string, string[], { freeBlocks: number; freeAddresses: number } | undefined][] = [
    ['10.0.0.0/24', [], { freeBlocks: 14, freeAddresses: 251 }], // first and last /28 hold EC2's reserved addresses
    ['10.0.0.0/24', spread, { freeBlocks: 0, freeAddresses: 235 }],
    ['10.0.0.0/28', [], { freeBlocks: 0, freeAddresses: 11 }],
    ['10.0.0.0/29', [], undefined],
    ['bogus', [], undefined],
  ];
  for (const [cidr, used, want] of cases) {
    const got = subnetBlocks(cidr, used);
    if (!want) { assert.equal(got, undefined, cidr); continue; }
    assert.deepEqual(got, want, cidr);
  }
  assert.equal(subnetBlocks('10.0.0.0/24', ['10.0.0.200'])!.freeBlocks, 13);
  assert.equal(subnetBlocks('10.0.0.0/24', ['10.1.0.200'])!.freeBlocks, 14, 'addresses outside the subnet are ignored');
});

test('max pods: the VPC CNI calculator and our address capacity', () => {
  // m5.large: 3 ENIs x 10 IPv4, 2 vCPU.
  assert.equal(vpcCniMaxPods(3, 10, false, 2), 29);
  assert.equal(vpcCniMaxPods(3, 10, true, 2), 110);
  // m5.24xlarge: 15 x 50, 96 vCPU.
  assert.equal(vpcCniMaxPods(15, 50, false, 96), 737);
  assert.equal(vpcCniMaxPods(15, 50, true, 96), 250);
  // Ours: pod ENIs from device 1 (primary skipped), trunk slot held, 9 slots each.
  assert.equal(podAddressCapacity(3, 10, 1, false, 'ips'), 18);
  assert.equal(podAddressCapacity(3, 10, 0, true, 'prefixes'), 2 * 9 * 16);
  assert.equal(podAddressCapacity(3, 10, 0, false, 'prefixes'), 432);
});
