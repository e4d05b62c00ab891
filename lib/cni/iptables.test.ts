import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_DATAPLANE } from './plan.ts';
import { chainsRemoval, chainsRestore, desiredJumps, jumpSteps, observedJumps } from './iptables.ts';

const cfg = { ...DEFAULT_DATAPLANE, vpcCIDRs: ['10.0.0.0/16'] };

test('chains: VPC destinations return before the mark and the SNAT; SNAT off installs nothing', () => {
  const r = chainsRestore(cfg, '10.0.0.10')!;
  const lines = r.split('\n');
  assert.ok(lines.indexOf('-A ENI-IPAM-CONNMARK -d 10.0.0.0/16 -j RETURN') < lines.indexOf('-A ENI-IPAM-CONNMARK -j CONNMARK --set-xmark 0x80/0x80'));
  assert.ok(lines.some((l) => l.startsWith('-A ENI-IPAM-SNAT ! -o vlan.eth.+') && l.includes('--to-source 10.0.0.10')));
  assert.equal(chainsRestore({ ...cfg, snat: false }, '10.0.0.10'), undefined);
  assert.deepEqual(desiredJumps({ ...cfg, snat: false }), []);
});

test('jumps: appended once, duplicates and old ones deleted, others left alone', () => {
  const want = desiredJumps(cfg);
  const save = (rules: string[]) => ['*nat', ':PREROUTING ACCEPT [0:0]', ...rules, 'COMMIT'].join('\n');
  assert.equal(jumpSteps(want, []).filter((s) => s[2] === '-A').length, 4);
  const natRules = want.filter((j) => j.table === 'nat').map((j) => `-A ${j.chain} ${j.rule}`);
  const mangle = observedJumps('mangle', save(want.filter((j) => j.table === 'mangle').map((j) => `-A ${j.chain} ${j.rule}`)));
  const converged = [...observedJumps('nat', save([...natRules, '-A PREROUTING -j KUBE-SERVICES'])), ...mangle];
  assert.deepEqual(jumpSteps(want, converged), []);
  const dup = [...converged, ...observedJumps('nat', save([natRules[0]!]))];
  assert.deepEqual(jumpSteps(want, dup).map((s) => s[2]), ['-D']);
  const oldPrefix = observedJumps('nat', save(['-A PREROUTING -i xyz+ -m comment --comment eni-ipam -j ENI-IPAM-CONNMARK']));
  assert.ok(jumpSteps(want, [...converged, ...oldPrefix]).some((s) => s[2] === '-D' && s.includes('xyz+')));
  assert.equal(chainsRemoval('*nat\n:POSTROUTING ACCEPT\nCOMMIT'), undefined);
  assert.match(chainsRemoval(':ENI-IPAM-SNAT - [0:0]\n')!, /-X ENI-IPAM-SNAT/);
});
