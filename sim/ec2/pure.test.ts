// Table-driven tests of the simulator's pure pieces: CIDR math and address pools, Query parsing,
// wildcard filters, pagination tokens, token buckets and the EC2 bucket table, XML, seeded faults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.ts';
import { AddressPool, cidrContains, cidrOverlaps, intToIp, ipToInt, parseCidr } from './cidr.ts';
import { Ec2Error } from './errors.ts';
import { FaultInjector, seededRng } from './faults.ts';
import { bool, decodeToken, encodeToken, filters, int, list, paginate, parseForm, structList, tagSpecs, wildcardMatch } from './query.ts';
import { EC2_BUCKET_CATEGORIES, TokenBucket, Throttler, bucketKey, bucketSpecFor, categoryOf } from './throttle.ts';
import { errorXml, successXml } from './xml.ts';

test('ipToInt/intToIp and parseCidr', () => {
  const ips: [string, number | undefined][] = [['0.0.0.0', 0], ['10.0.1.4', 0x0a000104], ['255.255.255.255', 0xffffffff], ['256.0.0.1', undefined], ['1.2.3', undefined], ['a.b.c.d', undefined]];
  for (const [s, n] of ips) {
    assert.equal(ipToInt(s), n, s);
    if (n !== undefined) assert.equal(intToIp(n), s);
  }
  const cidrs: [string, { prefixLen: number; size: number } | undefined][] = [
    ['10.0.0.0/16', { prefixLen: 16, size: 65536 }], ['10.0.1.16/28', { prefixLen: 28, size: 16 }],
    ['10.0.1.8/28', undefined], ['10.0.0.0/33', undefined], ['10.0.0.0', undefined], ['x/24', undefined],
  ];
  for (const [s, want] of cidrs) {
    const c = parseCidr(s);
    assert.deepEqual(c && { prefixLen: c.prefixLen, size: c.size }, want, s);
  }
  assert.equal(cidrContains(parseCidr('10.0.0.0/16')!, parseCidr('10.0.5.0/24')!), true);
  assert.equal(cidrContains(parseCidr('10.0.0.0/24')!, parseCidr('10.0.0.0/16')!), false);
  assert.equal(cidrOverlaps(parseCidr('10.0.0.0/24')!, parseCidr('10.0.0.128/25')!), true);
  assert.equal(cidrOverlaps(parseCidr('10.0.0.0/25')!, parseCidr('10.0.0.128/25')!), false);
});

test('AddressPool: reserved addresses, usable counts, lowest-first, aligned /28 prefixes', () => {
  const usable: [string, number][] = [['10.0.0.0/28', 11], ['10.0.0.0/24', 251], ['10.0.0.0/16', 65531]];
  for (const [c, n] of usable) assert.equal(new AddressPool(parseCidr(c)!).free(), n, c);
  const p = new AddressPool(parseCidr('10.0.0.0/24')!);
  const reasons: [string, string | undefined][] = [['10.0.0.0', 'reserved'], ['10.0.0.3', 'reserved'], ['10.0.0.4', undefined], ['10.0.0.255', 'reserved'], ['10.0.1.4', 'outside']];
  for (const [ip, why] of reasons) assert.equal(p.whyNot(ipToInt(ip)!), why, ip);
  assert.deepEqual(p.lowestFree(2).map(intToIp), ['10.0.0.4', '10.0.0.5']);
  p.take(ipToInt('10.0.0.4')!);
  assert.equal(p.whyNot(ipToInt('10.0.0.4')!), 'in-use');
  assert.deepEqual(p.lowestFree(1).map(intToIp), ['10.0.0.5']);
  // The first block holds reserved addresses and the last holds the broadcast address.
  assert.deepEqual(p.freePrefixes(2).map(intToIp), ['10.0.0.16', '10.0.0.32']);
  p.take(ipToInt('10.0.0.20')!);
  assert.deepEqual(p.freePrefixes(1).map(intToIp), ['10.0.0.32']);
  assert.equal(p.freePrefixes(100).length, 13);
  p.takePrefix(ipToInt('10.0.0.32')!);
  assert.equal(p.free(), 251 - 2 - 16);
  p.releasePrefix(ipToInt('10.0.0.32')!);
  p.release(ipToInt('10.0.0.4')!);
  p.release(ipToInt('10.0.0.4')!); // double release is a no-op
  assert.equal(p.free(), 250);
  assert.deepEqual(new AddressPool(parseCidr('10.0.0.0/28')!).freePrefixes(1), []);
});

test('Query parsing: lists, struct lists, filters, tag specs, typed values', () => {
  const p = parseForm('NetworkInterfaceId.2=b&NetworkInterfaceId.1=a&NetworkInterfaceId.x=z&Filter.1.Name=tag%3Ak&Filter.1.Value.1=v1&Filter.1.Value.2=v2&Filter.2.Name=status&Filter.2.Value.1=available&TagSpecification.1.ResourceType=network-interface&TagSpecification.1.Tag.1.Key=k&TagSpecification.1.Tag.1.Value=v&N=12&B=true');
  assert.deepEqual(list(p, 'NetworkInterfaceId'), ['a', 'b']);
  assert.deepEqual(filters(p), [{ name: 'tag:k', values: ['v1', 'v2'] }, { name: 'status', values: ['available'] }]);
  assert.deepEqual(tagSpecs(p, 'network-interface'), { k: 'v' });
  assert.throws(() => tagSpecs(p, 'instance'), Ec2Error);
  assert.equal(structList(p, 'Filter').length, 2);
  assert.equal(int(p, 'N'), 12);
  assert.equal(int(p, 'Missing'), undefined);
  assert.equal(bool(p, 'B'), true);
  const bad: [string, () => unknown][] = [
    ['int', () => int(parseForm('N=1.5'), 'N')],
    ['range', () => int(parseForm('N=0'), 'N', { min: 1 })],
    ['bool', () => bool(parseForm('B=yes'), 'B')],
    ['filter name', () => filters(parseForm('Filter.1.Value.1=x'))],
    ['token', () => decodeToken('***')],
  ];
  for (const [name, f] of bad) assert.throws(f, (e: unknown) => e instanceof Ec2Error && e.code === 'InvalidParameterValue', name);
});

test('wildcardMatch', () => {
  const cases: [string, string, boolean][] = [
    ['aws-K8S-*', 'aws-K8S-i-123', true], ['aws-K8S-*', 'aws-k8s-trunk', false], ['exact', 'exact', true], ['exact', 'exactly', false],
    ['a?c', 'abc', true], ['a?c', 'ac', false], ['*', '', true], ['a.b', 'axb', false], ['(x)*', '(x)yz', true],
  ];
  for (const [pat, v, want] of cases) assert.equal(wildcardMatch(pat, v), want, `${pat} ~ ${v}`);
});

test('paginate: stable pages by key, tokens round-trip', () => {
  const items = ['e', 'a', 'd', 'b', 'c'];
  const p1 = paginate(items, (x) => x, 2, undefined);
  assert.deepEqual(p1.page, ['a', 'b']);
  const p2 = paginate(items, (x) => x, 2, p1.nextToken);
  assert.deepEqual(p2.page, ['c', 'd']);
  const p3 = paginate(items, (x) => x, 2, p2.nextToken);
  assert.deepEqual(p3, { page: ['e'] });
  assert.deepEqual(paginate(items, (x) => x, undefined, undefined).page.length, 5);
  assert.equal(decodeToken(encodeToken('eni-0abc')), 'eni-0abc');
});

test('bucket table and categories (aws-anchors E.4)', () => {
  const table: [string, boolean, number, number][] = [
    ['DescribeNetworkInterfaces', false, 100, 20], ['DescribeNetworkInterfaces', true, 50, 10], ['DescribeInstances', true, 50, 10],
    ['DescribeSubnets', true, 100, 20], ['AttachNetworkInterface', false, 50, 5], ['DetachNetworkInterface', false, 50, 5],
    ['AssociateTrunkInterface', false, 50, 5], ['DisassociateTrunkInterface', false, 50, 5], ['CreateNetworkInterface', false, 100, 5],
    ['DeleteNetworkInterface', false, 100, 5], ['AssignPrivateIpAddresses', false, 100, 5], ['UnassignPrivateIpAddresses', false, 100, 5],
    ['ModifyNetworkInterfaceAttribute', false, 100, 5], ['CreateTags', false, 100, 10], ['DeleteTags', false, 100, 10], ['RunInstances', false, 5, 2],
  ];
  for (const [action, unf, cap, rate] of table) assert.deepEqual(bucketSpecFor(action, unf), { capacity: cap, refillPerSecond: rate }, `${action} unfiltered=${unf}`);
  assert.equal(bucketKey('DescribeInstances', true), 'DescribeInstances#unfiltered');
  assert.equal(bucketKey('DescribeSubnets', true), 'DescribeSubnets');
  assert.equal(categoryOf('SomeNewMutation'), 'mutating');
  assert.equal(categoryOf('GetSomething'), 'non-mutating');
  assert.deepEqual(bucketSpecFor('CreateTags', false, { CreateTags: { capacity: 1, refillPerSecond: 1 } }), { capacity: 1, refillPerSecond: 1 });
  assert.equal(EC2_BUCKET_CATEGORIES.mutating.capacity, 50);
});

test('TokenBucket and Throttler follow the clock', () => {
  const clock = new ManualClock();
  const b = new TokenBucket(3, 2, clock);
  assert.deepEqual([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()], [true, true, true, false]);
  clock.advance(499);
  assert.equal(b.tryTake(), false);
  clock.advance(1);
  assert.equal(b.tryTake(), true);
  clock.advance(60_000);
  assert.equal(b.available(), 3, 'never above capacity');
  const t = new Throttler(clock, { scale: 0.1 });
  let admitted = 0;
  for (let k = 0; k < 20; k++) if (t.admit('RunInstances')) admitted++;
  assert.equal(admitted, 1, '5 * 0.1 rounds up to one token');
  t.configure({ disabled: true });
  for (let k = 0; k < 20; k++) assert.equal(t.admit('RunInstances'), true);
});

test('xml: success and error documents, escaping, item lists, omitted undefined', () => {
  assert.equal(successXml('X', 'rid', { a: 'x<y&"z"', list: [{ k: 1 }, { k: 2 }], none: undefined, b: false }),
    '<?xml version="1.0" encoding="UTF-8"?><XResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>rid</requestId><a>x&lt;y&amp;&quot;z&quot;</a><list><item><k>1</k></item><item><k>2</k></item></list><b>false</b></XResponse>');
  assert.equal(errorXml('C', 'm<', 'r'), '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>C</Code><Message>m&lt;</Message></Error></Errors><RequestID>r</RequestID></Response>');
});

test('seeded faults: same seed, same outcomes; count limits firings', () => {
  const run = (seed: number) => {
    const f = new FaultInjector(seededRng(seed));
    f.add('A', { code: 'X', probability: 0.3 });
    return Array.from({ length: 50 }, () => f.decide('A').fault?.code ?? '-').join('');
  };
  assert.equal(run(3), run(3));
  assert.notEqual(run(3), run(4));
  const f = new FaultInjector(seededRng(1));
  f.add('*', { code: 'Y', probability: 1, count: 2, latencyMs: 5 });
  assert.deepEqual([0, 1, 2].map(() => f.decide('Any').fault?.code), ['Y', 'Y', undefined]);
  assert.throws(() => f.add('A', { code: 'X', probability: 1.5 }));
});
