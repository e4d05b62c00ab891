import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BRANCH_RESOURCE } from '../../lib/keys.ts';
import { explainNode, explainPod, renderCluster, table, whyWaiting, type PodFacts } from './render.ts';
import { NOW, pods, pools } from './fixtures.ts';

const need = { branchResource: BRANCH_RESOURCE, branchPodsNeedIP: false };

test('table: columns aligned, numbers right-aligned', () => {
  assert.equal(table(['A', 'NUM'], [['x', 5], ['long', 123]]), 'A     NUM\nx       5\nlong  123');
});

test('cluster screen: subnet split, idle nodes, nodes at their limit, waiting pods with the extender reason', () => {
  const out = renderCluster({ pools: pools(), pods: pods(), now: NOW, top: 10, need });
  // subnet-a (/24, 251 usable): 150 free; used = 18 reserved + 8 attached branches; idle = 2 free IPs + 1 cooling branch;
  // ENI primaries = eni-f1 + 2 trunks; the rest (node primaries, ...) is others.
  assert.match(out, /subnet-a\s+us-east-1a\s+10\.0\.0\.0\/24\s+251\s+150\s+26\s+3\s+3\s+69\s+40%/);
  // subnet-b (/27, 27 usable) exhausted: 0 free.
  assert.match(out, /subnet-b\s+us-east-1b\s+10\.0\.1\.0\/27\s+27\s+0\s+1\s+1\s+0\s+25\s+100%\s+0/);
  assert.match(out, /NODES WITH THE MOST IDLE ADDRESSES \(3 nodes, 3 idle, 19 used\)\nNODE\s+TYPE.*\nnode-branch\s+m5\.large\s+us-east-1a\s+0\s+2\s+18\s+9\/9\nnode-dry/);
  const limits = out.slice(out.indexOf('NODES AT THEIR LIMIT'), out.indexOf('PODS WAITING'));
  assert.match(limits, /NODES AT THEIR LIMIT \(3\)/);
  assert.match(limits, /node-branch\s+m5\.large\s+branch ENIs 9\/9 \(1 cooling down\)/);
  assert.match(limits, /node-dry\s+m5\.large\s+IPs 2\/27: subnet subnet-b \(10\.0\.1\.0\/27\) exhausted\s+2 IPs, 0 branch/);
  assert.match(limits, /node-full\s+m5\.large\s+IPs 18\/18: instance limit 2 ENIs x 9 IPs reached\s+1 IPs, 0 branch/);
  const waiting = out.slice(out.indexOf('PODS WAITING'));
  assert.match(waiting, /PODS WAITING FOR AN ADDRESS \(3\)/);
  assert.match(waiting, /web\/api-new\s+60s\s+not scheduled \(Unschedulable\): .*instance limit 2 ENIs x 9 IPs reached/);
  assert.match(waiting, /jobs\/job-new\s+30s\s+not scheduled .*9\/9 branch ENIs in use \(1 cooling down\)/);
  assert.match(waiting, /web\/web-b\s+20s\s+not scheduled .*subnet-b \(10\.0\.1\.0\/27\) exhausted/);
  assert.doesNotMatch(waiting, /api-0/);
});

test('whyWaiting: bound pods waiting for a branch ENI, for the CNI, or bound without a reservation', () => {
  const [, , , running] = pods();
  const b = pools()[1]!;
  const cases: { name: string; pod: PodFacts; want: RegExp }[] = [
    { name: 'unbound, not tried yet', pod: { metadata: { name: 'p', namespace: 'd', uid: 'u' }, spec: { containers: [] } }, want: /^waiting for the scheduler$/ },
    { name: 'branch slot pending', pod: { metadata: { name: 'job-3', namespace: 'jobs', uid: 'ub3' }, spec: { nodeName: 'node-branch', containers: [{ resources: { requests: { [BRANCH_RESOURCE]: '1' } } }] } }, want: /branch ENI slot attached \(eni-b3\)/ },
    { name: 'branch pod without a slot', pod: { metadata: { name: 'j', namespace: 'jobs', uid: 'nope' }, spec: { nodeName: 'node-branch', containers: [{ resources: { limits: { [BRANCH_RESOURCE]: '1' } } }] } }, want: /no branch ENI slot reserved/ },
    { name: 'reserved, CNI not done', pod: { ...running!, status: { phase: 'Pending' } }, want: /10\.0\.0\.20 on eni-f0 reserved; waiting for the node's CNI/ },
    { name: 'no reservation', pod: { metadata: { name: 'x', namespace: 'd', uid: 'x' }, spec: { nodeName: 'node-full', containers: [] } }, want: /bound without an address reservation/ },
  ];
  for (const c of cases) assert.match(whyWaiting(c.pod, b, need), c.want, c.name);
});

test('explainPod: the address and ENI of a running pod; the reason of a pending one', () => {
  const [apiNew, jobNew, , running] = pods();
  const ok = explainPod(running!, pools()[0], [], need, NOW);
  assert.match(ok, /address: 10\.0\.0\.20 on ENI eni-f0 \(device 0, subnet 10\.0\.0\.0\/24\); ENIPool: reserved for this pod/);
  assert.match(ok, /pod IP: 10\.0\.0\.20/);
  const pending = explainPod(apiNew!, undefined, [{ type: 'Warning', reason: 'FailedScheduling', message: 'binding rejected: admission webhook "bindings.eni-ipam.io" denied the request: node node-full: no free IP', count: 3 }], need, NOW);
  assert.match(pending, /needs: an IP/);
  assert.match(pending, /node: \(not scheduled\)/);
  assert.match(pending, /waiting: not scheduled .*instance limit 2 ENIs x 9 IPs reached/);
  assert.match(pending, /Warning FailedScheduling \(x3\): binding rejected/);
  assert.match(explainPod(jobNew!, undefined, [], need, NOW), /needs: a branch ENI \(security groups for pods\)/);
  // Bound to a node, no address yet: what the node can do now.
  const bound: PodFacts = { metadata: { name: 'late', namespace: 'web', uid: 'ul' }, spec: { nodeName: 'node-dry', containers: [] }, status: { phase: 'Pending' } };
  const dry = explainPod(bound, pools()[2], [], need, NOW);
  assert.match(dry, /node node-dry now: no free ENI IP: .*exhausted/);
  assert.match(dry, /node node-dry owes 2 IPs and 0 branch slots/);
});

test('explainNode: full node, cooling-down branch slot, exhausted subnet, unmanaged node', () => {
  const [f, b, d] = pools();
  const full = explainNode(f, 'node-full', need, NOW);
  assert.match(full, /IPs: 18 held of 18 allowed — 18 reserved \(used\), 0 free/);
  assert.match(full, /cannot grow: instance limit 2 ENIs x 9 IPs reached/);
  assert.match(full, /a new pod needing an IP: does not fit: no free ENI IP/);
  assert.match(full, /unmet demand: 1 IPs/);
  const br = explainNode(b, 'node-branch', need, NOW);
  assert.match(br, /branch ENIs: 8 used, 1 cooling down or being deleted, limit 9/);
  assert.match(br, /cooldown slot of jobs\/job-8 \(eni-b8\), free again in 45s/);
  assert.match(br, /a new pod needing a branch ENI .*: does not fit: pod-eni: 9\/9 branch ENIs in use \(1 cooling down\)/);
  assert.match(br, /a new pod needing an IP: fits \(free\)/);
  const dr = explainNode(d, 'node-dry', need, NOW);
  assert.match(dr, /cannot grow: subnet subnet-b \(10\.0\.1\.0\/27\) exhausted/);
  assert.match(explainNode(undefined, 'node-x', need, NOW), /node node-x has no ENIPool/);
});
