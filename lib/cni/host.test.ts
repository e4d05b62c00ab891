import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DATAPLANE, type HostObserved } from './plan.ts';
import { findLinkByMac, hostPlan, removeAllSteps } from './host.ts';
import { bareHost, poolStatus } from './fixtures.ts';

const cfg = { ...DEFAULT_DATAPLANE, vpcCIDRs: ['10.0.0.0/16'] };

test('hostPlan on a bare node: MTU, the ENI address only, table 2, connected route out of main, 32765, 1024, local moved', () => {
  const p = hostPlan(poolStatus(), cfg, bareHost());
  assert.deepEqual(p.problems, []);
  assert.deepEqual([...p.linkByMac], [['02:00:00:00:00:10', 'eth0'], ['02:00:00:00:00:11', 'eth1'], ['02:00:00:00:00:1f', 'eth2']]);
  assert.deepEqual(p.steps.map((s) => s.ip), [
    'link set dev eth0 mtu 9001 up',
    'link set dev eth1 mtu 9001 up',
    'addr del 10.0.1.99/24 dev eth1',
    'addr replace 10.0.1.10/24 dev eth1',
    'route replace 10.0.1.1/32 dev eth1 scope link table 2 proto 207',
    'route replace default via 10.0.1.1 dev eth1 table 2 proto 207',
    'route del 10.0.1.0/24 dev eth1 table main',
    'rule add pref 32765 from 10.0.1.10/32 lookup 2 proto 207',
    'link set dev eth2 mtu 9001 up',
    'rule add pref 1024 fwmark 0x80/0x80 lookup main proto 207',
    'rule add pref 20 lookup local proto 207',
    'rule del pref 0 lookup local',
  ]);
});

/** The bare host after the plan above ran. */
function converged(): HostObserved {
  const h = bareHost();
  for (const l of h.links) if (l.ifname.startsWith('eth')) l.mtu = 9001;
  h.addrs[1] = { ifname: 'eth1', addr_info: [{ family: 'inet', local: '10.0.1.10', prefixlen: 24, scope: 'global' }] };
  h.routes = h.routes.filter((r) => r.dst !== '10.0.1.0/24');
  h.routes.push({ dst: '10.0.1.1', dev: 'eth1', table: '2', protocol: '207', scope: 'link' }, { dst: 'default', gateway: '10.0.1.1', dev: 'eth1', table: '2', protocol: '207' });
  h.rules = [
    { priority: 20, table: 'local', protocol: '207' }, { priority: 1024, fwmark: '0x80', fwmask: '0x80', table: 'main', protocol: '207' },
    { priority: 32765, src: '10.0.1.10', table: '2', protocol: '207' }, { priority: 32766, table: 'main', protocol: 'kernel' },
  ];
  return h;
}

test('hostPlan is idempotent: a converged node plans nothing', () => {
  assert.deepEqual(hostPlan(poolStatus(), cfg, converged()).steps, []);
});

test('hostPlan removes only stale entries of ours: detached ENI table, pod rules without a veth; never others', () => {
  const h = converged();
  h.rules.push(
    { priority: 32765, src: '10.0.5.10', table: '6', protocol: '207' }, // ENI detached since
    { priority: 512, dst: '10.0.1.50', table: 'main', protocol: '207' }, // pod whose veth is gone
    { priority: 1536, src: '10.0.1.50', table: '2', protocol: '207' },
    { priority: 512, dst: '10.0.1.60', table: 'main' }, // aws-node's: not ours
    { priority: 10, iif: 'vlan.eth.9', table: '109', protocol: '207' }, // VLAN gone
  );
  h.routes.push({ dst: 'default', gateway: '10.0.5.1', dev: 'eth5', table: '6', protocol: '207' });
  const s = hostPlan(poolStatus(), cfg, h).steps.map((x) => x.ip);
  assert.deepEqual(s, [
    'rule del pref 32765 from 10.0.5.10 lookup 6', 'rule del pref 512 to 10.0.1.50 lookup main', 'rule del pref 1536 from 10.0.1.50 lookup 2',
    'rule del pref 10 iif vlan.eth.9 lookup 109', 'route del 0.0.0.0/0 dev eth5 table 6',
  ]);
});

test('hostPlan: a missing ENI link is a problem; SNAT off and standard mode undo the host-wide rules', () => {
  const h = converged();
  h.links = h.links.filter((l) => l.ifname !== 'eth1');
  assert.match(hostPlan(poolStatus(), cfg, h).problems.join(), /ENI eni-1 \(device 1, 02:00:00:00:00:11\) has no link/);
  assert.deepEqual(hostPlan(undefined, cfg, bareHost()).problems, ['the node has no ENIPool status yet']);
  const s = hostPlan(poolStatus(), { ...cfg, snat: false, branchMode: 'standard' }, converged()).steps.map((x) => x.ip);
  assert.deepEqual(s, ['rule add pref 0 lookup local', 'rule del pref 20 lookup local', 'rule del pref 1024 fwmark 0x80/0x80 lookup main']);
  assert.ok(removeAllSteps(converged()).every((x) => !x.ip.includes('32766')));
});

test('findLinkByMac ignores VLANs and bond slaves carrying the MAC', () => {
  const links = [{ ifname: 'vlan.eth.3', address: '02:00:00:00:00:b1' }, { ifname: 'eth3', address: '02:00:00:00:00:B1' }, { ifname: 'bond-slave', address: '02:00:00:00:00:c1', flags: ['SLAVE'] }];
  assert.equal(findLinkByMac(links, '02:00:00:00:00:b1')?.ifname, 'eth3');
  assert.equal(findLinkByMac(links, '02:00:00:00:00:c1'), undefined);
});
