import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ANN_ALLOCATION, ANN_POD_ENI } from '../keys.ts';
import { CniError, ERR } from './spec.ts';
import { DEFAULT_DATAPLANE, hostVethName, type HostObserved } from './plan.ts';
import { checkPod, decidePod, setupSteps, teardownSteps } from './pod.ts';
import { POD_UID, allocation, poolStatus } from './fixtures.ts';

const cfg = { ...DEFAULT_DATAPLANE, vpcCIDRs: ['10.0.0.0/16'] };
const web = { namespace: 'default', name: 'web-0', uid: POD_UID, containerID: 'c1' };
const ann = (a: string) => ({ [ANN_ALLOCATION]: a });
const podEni = (o: Record<string, unknown> = {}) => ({ [ANN_POD_ENI]: JSON.stringify([{ eniId: 'eni-br', ifAddress: '02:00:00:00:00:B1', privateIp: '10.0.2.30', vlanId: 3, subnetCidr: '10.0.2.0/24', ...o }]) });

test('host veth names follow prefix + 11 hex of SHA-1(namespace.name)', () => {
  // The AWS VPC CNI's test vector, with its prefix: kube-system/coredns-57ff979f67-qqbdh → enib5faff8a083.
  assert.equal(hostVethName('eni', 'kube-system', 'coredns-57ff979f67-qqbdh'), 'enib5faff8a083');
  assert.equal(hostVethName('eip', 'default', 'web-0').length, 14);
});

test('decidePod: the reserved address, its ENI table, or the CniError a runtime would see', () => {
  const pool = poolStatus();
  const ok = decidePod(web, ann(allocation('10.0.1.20', 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11')), pool, cfg);
  assert.deepEqual([ok.kind, ok.ip, ok.table, ok.gateway, ok.eniMac], ['eni', '10.0.1.20', 2, '10.0.1.1', '02:00:00:00:00:11']);
  const primary = decidePod({ ...web, name: 'a', uid: 'uid-a' }, ann(allocation('10.0.0.20', 'eni-0', 0, '10.0.0.0/24', '02:00:00:00:00:10')), pool, cfg);
  assert.equal(primary.table, 'main');
  const cases: [string, Record<string, string> | undefined, typeof pool | undefined, number, RegExp][] = [
    ['no annotation', {}, pool, ERR.noReservation, /no reservation on pod default\/web-0.*scheduler that calls eni-ipam/],
    ['not JSON', ann('{'), pool, ERR.noReservation, /not JSON with an ip/],
    ['missing fields', ann('{"ip":"10.0.1.20"}'), pool, ERR.noReservation, /lacks eni, subnetCIDR, mac, deviceIndex/],
    ['unknown ENI', ann(allocation('10.0.1.20', 'eni-9', 1, '10.0.1.0/24', '02:00:00:00:00:11')), pool, ERR.tryAgainLater, /eni-9/],
    ['no pool yet', ann(allocation('10.0.1.20', 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11')), undefined, ERR.tryAgainLater, /ENIPool/],
    ['wrong device', ann(allocation('10.0.1.20', 'eni-1', 2, '10.0.1.0/24', '02:00:00:00:00:11')), pool, ERR.noReservation, /device 2/],
    ['free address', ann(allocation('10.0.1.21', 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11')), pool, ERR.noReservation, /10.0.1.21 is free/],
    ['another pod\'s address', ann(allocation('10.0.0.20', 'eni-0', 0, '10.0.0.0/24', '02:00:00:00:00:10')), pool, ERR.noReservation, /reserved for default\/a/],
    ['outside subnet', ann(allocation('10.0.3.20', 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11')), pool, ERR.noReservation, /outside its subnet/],
    ['branch: bad vlan', podEni({ vlanId: 0 }), pool, ERR.noReservation, /vlanId > 0/],
    ['branch: not this pod\'s slot', podEni(), pool, ERR.noReservation, /not this pod's attached branch slot/],
  ];
  for (const [name, a, p, code, msg] of cases) {
    assert.throws(() => decidePod(web, a, p, cfg), (e: unknown) => e instanceof CniError && e.code === code && msg.test(e.message), name);
  }
});

test('decidePod: branch pods get the VLAN of their pod-eni annotation (vlanID spelling too)', () => {
  const br = { ...web, name: 'br', uid: 'uid-br' };
  const p = decidePod(br, podEni(), poolStatus(), cfg);
  assert.deepEqual([p.kind, p.ip, p.table, p.branch?.link, p.branch?.mac, p.branch?.gateway, p.branch?.trunkMac], ['branch', '10.0.2.30', 103, 'vlan.eth.3', '02:00:00:00:00:b1', '10.0.2.1', '02:00:00:00:00:1f']);
  assert.ok(p.hostVeth.startsWith('eib'), 'strict branch veths sit outside the SNAT match');
  assert.equal(decidePod(br, podEni({ vlanId: undefined, vlanID: 3 }), poolStatus(), cfg).table, 103);
  assert.ok(decidePod(br, podEni(), poolStatus(), { ...cfg, branchMode: 'standard' }).hostVeth.startsWith('eip'));
});

test('setupSteps: the exact command plan for ENI and branch pods', () => {
  const pool = poolStatus();
  const p = decidePod(web, ann(allocation('10.0.1.20', 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11')), pool, cfg);
  const s = setupSteps(p, '/var/run/netns/p1', 'eth0');
  const v = p.hostVeth;
  assert.deepEqual(s.map((x) => `${x.where}: ${x.ip}`), [
    `host: link del ${v}`,
    `host: link add ${v} mtu 9001 address ${p.hostMac} type veth peer name eth0 mtu 9001 address ${p.podMac} netns /var/run/netns/p1`,
    `host: link set ${v} up`,
    `host: route replace 10.0.1.20/32 dev ${v} scope link proto 207`,
    'host: rule add pref 512 to 10.0.1.20/32 lookup main proto 207',
    'host: rule add pref 1536 from 10.0.1.20/32 lookup 2 proto 207',
    'pod: link set lo up', 'pod: link set eth0 up', 'pod: addr replace 10.0.1.20/32 dev eth0',
    'pod: route replace 169.254.1.1/32 dev eth0 scope link', 'pod: route replace default via 169.254.1.1 dev eth0',
    `pod: neigh replace 169.254.1.1 lladdr ${p.hostMac} dev eth0 nud permanent`,
  ]);
  const primary = setupSteps(decidePod({ ...web, name: 'a', uid: 'uid-a' }, ann(allocation('10.0.0.20', 'eni-0', 0, '10.0.0.0/24', '02:00:00:00:00:10')), pool, cfg), '/n', 'eth0');
  assert.ok(!primary.some((x) => x.ip.includes('pref 1536')), 'no 1536 rule for the primary ENI');

  const br = { ...web, name: 'br', uid: 'uid-br' };
  const strict = decidePod(br, podEni(), pool, cfg);
  assert.throws(() => setupSteps(strict, '/n', 'eth0'), (e: unknown) => e instanceof CniError && e.code === ERR.tryAgainLater);
  const bs = setupSteps(strict, '/n', 'eth0', 'eth2').filter((x) => x.where === 'host').slice(3).map((x) => x.ip);
  assert.deepEqual(bs, [
    'link del vlan.eth.3', 'link add link eth2 name vlan.eth.3 address 02:00:00:00:00:b1 type vlan id 3', 'link set vlan.eth.3 up',
    'route replace 10.0.2.1/32 dev vlan.eth.3 scope link table 103 proto 207', 'route replace default via 10.0.2.1 dev vlan.eth.3 table 103 proto 207',
    `route replace 10.0.2.30/32 dev ${strict.hostVeth} scope link table 103 proto 207`,
    'rule add pref 10 iif vlan.eth.3 lookup 103 proto 207', `rule add pref 10 iif ${strict.hostVeth} lookup 103 proto 207`,
  ]);
  const standard = decidePod(br, podEni(), pool, { ...cfg, branchMode: 'standard' });
  const ss = setupSteps(standard, '/n', 'eth0', 'eth2').map((x) => x.ip);
  assert.ok(ss.includes('rule add pref 512 to 10.0.2.30/32 lookup main proto 207') && ss.includes('rule add pref 1536 from 10.0.2.30/32 lookup 103 proto 207'));
  assert.ok(!ss.some((x) => x.includes('pref 10 ')));
});

/** What the host looks like after setupSteps ran for pod web-0 (plus another pod's entries and aws-node's). */
function hostWithPod(v: string): HostObserved {
  return {
    links: [{ ifname: v, address: '02:aa:00:00:00:01' }, { ifname: 'eipother' }],
    addrs: [],
    rules: [
      { priority: 512, dst: '10.0.1.20', table: 'main', protocol: '207' },
      { priority: 1536, src: '10.0.1.20', table: '2', protocol: '207' },
      { priority: 1536, src: '10.0.1.20', table: '2', protocol: '207' },
      { priority: 512, dst: '10.0.1.21', table: 'main', protocol: '207' },
      { priority: 512, dst: '10.0.1.20', table: 'main' },
    ],
    routes: [
      { dst: '10.0.1.20', dev: v, table: 'main', protocol: '207', scope: 'link' },
      { dst: '10.0.1.21', dev: 'eipother', table: 'main', protocol: '207', scope: 'link' },
    ],
  };
}

test('teardownSteps: every entry of ours for the pod (duplicates too), nothing of others; nothing when already gone', () => {
  const v = 'eip0123456789a';
  const s = teardownSteps({ ip: '10.0.1.20', hostVeth: v }, hostWithPod(v)).map((x) => x.ip);
  assert.deepEqual(s, [
    'rule del pref 512 to 10.0.1.20 lookup main', 'rule del pref 1536 from 10.0.1.20 lookup 2', 'rule del pref 1536 from 10.0.1.20 lookup 2',
    `route del 10.0.1.20 dev ${v} table main`, `link del ${v}`,
  ]);
  assert.deepEqual(teardownSteps({ ip: '10.0.1.20', hostVeth: v }, { links: [], addrs: [], rules: [], routes: [] }), []);
  // The address now belongs to a newer pod on another veth: its rules stay.
  const moved = hostWithPod(v);
  moved.routes[0] = { ...moved.routes[0]!, dev: 'eipnewer' };
  assert.deepEqual(teardownSteps({ ip: '10.0.1.20', hostVeth: v }, moved).map((x) => x.ip), [`link del ${v}`]);
});

test('checkPod: intact plumbing passes, each missing piece is named', () => {
  const p = decidePod(web, ann(allocation('10.0.1.20', 'eni-1', 1, '10.0.1.0/24', '02:00:00:00:00:11')), poolStatus(), cfg);
  const host = hostWithPod(p.hostVeth);
  host.links[0]!.address = p.hostMac;
  const pod = {
    addrs: [{ ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.1.20', prefixlen: 32 }] }],
    routes: [{ dst: 'default', gateway: '169.254.1.1', dev: 'eth0' }],
    neighs: [{ dst: '169.254.1.1', dev: 'eth0', lladdr: p.hostMac, state: ['PERMANENT'] }],
  };
  assert.deepEqual(checkPod(p, 'eth0', host, pod), []);
  const noRule = { ...host, rules: host.rules.filter((r) => r.priority !== 1536) };
  assert.deepEqual(checkPod(p, 'eth0', noRule, pod), ['no rule 1536: from 10.0.1.20 lookup 2']);
  assert.match(checkPod(p, 'eth0', host, { ...pod, neighs: [] }).join(), /169.254.1.1 is not a permanent entry/);
});
