// The allocator's EC2 client (allocator/ec2/client.ts over the real @aws-sdk/client-ec2) against two
// independent EC2 implementations: our ec2-sim and moto (PyPI). Each step runs the same calls on both,
// reduces the parsed answers (or the error kind, code and HTTP status) to a shape without random IDs,
// and compares. Where moto is known to behave differently, the step asserts moto's documented
// behaviour instead, so the list below (and docs/sandbox.md) stays true: if moto changes, this fails.
// moto enforces no ENI/IP limits and has no trunk/branch ENIs or prefixes; those stay ec2-sim's job.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateNetworkInterfaceCommand, CreateSecurityGroupCommand, CreateSubnetCommand, CreateTagsCommand, CreateVpcCommand,
  DeleteTagsCommand, DescribeNetworkInterfacesCommand, RunInstancesCommand, type EC2Client,
} from '@aws-sdk/client-ec2';
import { ScaledClock } from '../lib/clock.ts';
import { loadLimitsTable } from '../lib/limits.ts';
import { ec2Client, startEc2Sim, type Ec2Sim } from '../sim/ec2/index.ts';
import { Ec2Api } from '../allocator/ec2/client.ts';
import { Ec2ApiError } from '../allocator/ec2/errors.ts';
import { Ec2RateLimiter } from '../allocator/ec2/ratelimiter.ts';
import type { EniInfo } from '../allocator/ec2/types.ts';
import { motoServerPath, startMoto, type Moto } from './moto.ts';

const ZONE = 'us-east-1a';
const VPC_CIDR = '10.0.0.0/16';
const SUBNET_CIDR = '10.0.1.0/24';
const SUBNET_TAGS = { 'kubernetes.io/role/cni': '1' };
const CLUSTER_TAG = 'eni-ipam.io/cluster';
const UNKNOWN_ENI = 'eni-0123456789abcdef0';

/**
 * What moto does differently from EC2 (and ec2-sim), by step. Each entry is checked below; docs/sandbox.md
 * repeats it for readers.
 */
export const MOTO_DIFFERENCES: Readonly<Record<string, string>> = {
  'primary ENI: DeleteOnTermination': 'moto launches instances whose primary ENI has DeleteOnTermination false; EC2 sets it true',
  'detach: the primary ENI': 'moto detaches the primary ENI (device index 0) when another ENI is attached; EC2 refuses with OperationNotPermitted',
  'create: idempotent ClientToken': 'moto ignores ClientToken: a retried CreateNetworkInterface creates a second ENI',
  'attach: device index already used': 'moto attaches over an occupied device index instead of answering InvalidParameterValue',
  'delete-on-termination': 'moto ignores Attachment.DeleteOnTermination in ModifyNetworkInterfaceAttribute',
  'assign: returned addresses': 'moto answers AssignPrivateIpAddresses with every address of the ENI, primary included; EC2 lists only the new ones',
  'assign: beyond the per-ENI limit': 'moto enforces no Ipv4AddressesPerInterface limit',
  'unassign: address not on the ENI': 'moto ignores addresses that are not on the ENI instead of answering InvalidParameterValue',
  'unassign: primary address': 'moto removes the primary address when asked instead of refusing',
  'describe: pagination': 'moto ignores MaxResults on DescribeNetworkInterfaces and answers in one page without NextToken',
  'delete: attached ENI': 'moto deletes an attached ENI instead of answering InvalidParameterValue (currently in use)',
};

interface Backend {
  name: 'ec2-sim' | 'moto';
  ec2: EC2Client;
  api: Ec2Api;
  vpc: string;
  subnet: string;
  sg: string;
  instanceId: string;
  /** Real IDs → stable placeholders, so two backends' answers compare. */
  ids: Map<string, string>;
}

const closers: Array<() => Promise<void>> = [];
after(async () => { for (const c of closers.reverse()) await c(); });

function clientFor(ec2: EC2Client): Ec2Api {
  const clock = new ScaledClock(1);
  const limiter = new Ec2RateLimiter({ clock, fraction: 1, random: () => 0.5 });
  return new Ec2Api({ ec2, limiter, clock, limitsTable: loadLimitsTable() });
}

async function simBackend(): Promise<Backend> {
  // No attach/detach latency: moto has none, and the states in between are ec2-sim's own tests' job.
  const sim: Ec2Sim = await startEc2Sim({ clock: new ScaledClock(1), throttle: { disabled: true }, attachLatencyMs: 0, detachLatencyMs: 0 });
  closers.push(() => sim.close());
  const vpc = sim.admin.createVpc(VPC_CIDR);
  const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: SUBNET_CIDR, zone: ZONE, tags: SUBNET_TAGS });
  const sg = 'sg-0a1b2c3d4e5f60718';
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet, securityGroups: [sg] });
  const ec2 = ec2Client(sim.endpoint, { maxAttempts: 1 });
  return { name: 'ec2-sim', ec2, api: clientFor(ec2), vpc, subnet, sg, instanceId: inst.instanceId, ids: new Map() };
}

async function motoBackend(moto: Moto): Promise<Backend> {
  const ec2 = ec2Client(moto.endpoint, { maxAttempts: 1 });
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: VPC_CIDR }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: SUBNET_CIDR, AvailabilityZone: ZONE }))).Subnet!.SubnetId!;
  await ec2.send(new CreateTagsCommand({ Resources: [subnet], Tags: Object.entries(SUBNET_TAGS).map(([Key, Value]) => ({ Key, Value })) }));
  const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'nodes', Description: 'nodes', VpcId: vpc }))).GroupId!;
  const r = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, InstanceType: 'm5.large', SubnetId: subnet, SecurityGroupIds: [sg] }));
  return { name: 'moto', ec2, api: clientFor(ec2), vpc, subnet, sg, instanceId: r.Instances![0].InstanceId!, ids: new Map() };
}

// ---------- reducing answers to comparable shapes ----------

const ID_FORMAT: Record<string, RegExp> = {
  eni: /^eni-[0-9a-f]{17}$/, attach: /^eni-attach-[0-9a-f]{17}$/, vpc: /^vpc-[0-9a-f]{8,17}$/,
  subnet: /^subnet-[0-9a-f]{8,17}$/, sg: /^sg-[0-9a-f]{8,17}$/, i: /^i-[0-9a-f]{8,17}$/,
};

/** A placeholder for an ID, numbered per kind in the order the backend showed it; malformed IDs stay visible. */
function idOf(b: Backend, id: string | undefined, kind: keyof typeof ID_FORMAT): string | undefined {
  if (id === undefined || id === '') return id;
  if (!ID_FORMAT[kind].test(id)) return `malformed ${kind}: ${id}`;
  const fixed: Record<string, string> = { [b.vpc]: '<vpc>', [b.subnet]: '<subnet>', [b.sg]: '<sg>', [b.instanceId]: '<instance>' };
  if (fixed[id]) return fixed[id];
  let p = b.ids.get(id);
  if (!p) {
    p = `<${kind}-${[...b.ids.values()].filter((v) => v.startsWith(`<${kind}-`)).length + 1}>`;
    b.ids.set(id, p);
  }
  return p;
}

function inSubnet(ip: string): boolean {
  const [a, b2, c] = ip.split('.').map(Number);
  return a === 10 && b2 === 0 && c === 1;
}

/**
 * moto picks addresses at random (ec2-sim lowest-first, like EC2 often but not always does), so
 * addresses reduce to "n in the subnet" while the count and membership still compare.
 */
const ips = (list: string[]) => `${list.length} in subnet${list.every(inSubnet) ? '' : ` (outside: ${list.filter((x) => !inSubnet(x)).join(',')})`}`;

function eniShape(b: Backend, e: EniInfo | undefined) {
  if (!e) return undefined;
  return {
    id: idOf(b, e.id, 'eni'), subnetId: idOf(b, e.subnetId, 'subnet'), vpcId: idOf(b, e.vpcId, 'vpc'), zone: e.zone,
    mac: /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(e.mac) ? '<mac>' : `malformed mac ${e.mac}`,
    description: e.description, interfaceType: e.interfaceType, status: e.status,
    primaryIp: ips([e.primaryIp]), secondaryIps: ips(e.secondaryIps),
    securityGroups: [...new Set(e.securityGroups)].map((g) => idOf(b, g, 'sg')).sort(), tags: e.tags,
    attachment: e.attachment && {
      attachmentId: idOf(b, e.attachment.attachmentId, 'attach'), instanceId: idOf(b, e.attachment.instanceId, 'i'),
      deviceIndex: e.attachment.deviceIndex, status: e.attachment.status, deleteOnTermination: e.attachment.deleteOnTermination,
    },
  };
}

/** An error as the allocator sees it: kind, code and HTTP status. Anything else that is thrown is a test failure. */
async function outcome<T>(p: Promise<T>): Promise<{ ok: T } | { error: { kind: string; code: string; status?: number } }> {
  try {
    return { ok: await p };
  } catch (e) {
    if (!(e instanceof Ec2ApiError)) throw e;
    const status = (e.cause as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
    return { error: { kind: e.kind, code: e.code, status } };
  }
}

// ---------- the cross-check ----------

let sim: Backend;
let moto: Backend | undefined;
const motoBin = motoServerPath();
const why = 'moto_server not found (.ci/run installs moto[server] into /var/cache/eni-ipam/venv)';

before(async () => {
  if (!motoBin) {
    // CI installs moto; a run there without it is a broken CI, not a reason to skip.
    if (process.env.CI) throw new Error(`${why}; CI must not skip the EC2 cross-check`);
    return;
  }
  const server = await startMoto(motoBin);
  closers.push(() => server.close());
  [sim, moto] = await Promise.all([simBackend(), motoBackend(server)]);
});

const checked = new Set<string>();
after(() => {
  // Every listed difference was observed in this run (none is stale), unless moto was not there at all.
  if (motoBin) assert.deepEqual(Object.keys(MOTO_DIFFERENCES).filter((k) => !checked.has(k)), [], 'MOTO_DIFFERENCES entries no step checked');
});

/** Per-step state the later steps need (ENI and attachment IDs per backend). */
const st = new Map<string, Record<string, string>>();
const s = (b: Backend) => { let v = st.get(b.name); if (!v) { v = {}; st.set(b.name, v); } return v; };

/**
 * Runs `run` on ec2-sim, then on moto, and compares. `differs` (for the MOTO_DIFFERENCES entry named
 * by the step, or by `known`) asserts what ec2-sim (= EC2) and moto answer instead of equality.
 */
function step<T>(name: string, run: (b: Backend) => Promise<T>, differs?: (simSays: T, motoSays: T) => void, known = name): void {
  test(name, { skip: motoBin ? false : why }, async () => {
    const a = await run(sim);
    const m = await run(moto!);
    if (differs) {
      assert.ok(MOTO_DIFFERENCES[known], `step "${name}" has a difference check but no MOTO_DIFFERENCES entry "${known}"`);
      differs(a, m);
      checked.add(known);
    } else {
      assert.deepEqual(m, a, `moto and ec2-sim disagree on "${name}"`);
    }
  });
}

step('describe subnets of the VPC and zone', async (b) => (await b.api.subnets(b.vpc, ZONE, { maxAgeMs: 0 })).map((x) => ({
  id: idOf(b, x.id, 'subnet'), vpcId: idOf(b, x.vpcId, 'vpc'), zone: x.zone, cidr: x.cidr, available: x.available, tags: x.tags,
})));

step('instance limits from DescribeInstanceTypes', async (b) => b.api.instanceLimits('m5.large'));

/** Splits the primary ENI's DeleteOnTermination (a known moto difference) from the rest of a shape list. */
const primaryDot = (list: Array<ReturnType<typeof eniShape>>) => ({
  dot: list.find((e) => e?.attachment?.deviceIndex === 0)?.attachment?.deleteOnTermination,
  rest: list.map((e) => e && e.attachment?.deviceIndex === 0 ? { ...e, attachment: { ...e.attachment, deleteOnTermination: '<primary>' } } : e),
});
const checkPrimaryDot = (a: ReturnType<typeof primaryDot>, m: ReturnType<typeof primaryDot>) => {
  assert.deepEqual(m.rest, a.rest, 'moto and ec2-sim disagree beyond the primary ENI\'s DeleteOnTermination');
  assert.equal(a.dot, true, 'ec2-sim: the primary ENI is deleted with the instance');
  assert.equal(m.dot, false, 'moto: primary ENI DeleteOnTermination false');
};

step('the instance\'s primary ENI', async (b) => primaryDot((await b.api.instanceEnis(b.instanceId, { maxAgeMs: 0 })).map((e) => {
  s(b).primary = e.id;
  s(b).primaryAttachment = e.attachment?.attachmentId ?? '';
  // The primary ENI's description and tags are the launch's business, not the allocator's.
  const { description: _d, tags: _t, ...rest } = eniShape(b, e)!;
  return rest as ReturnType<typeof eniShape>;
})), checkPrimaryDot, 'primary ENI: DeleteOnTermination');

step('create: ENI with secondaries, groups, description and tags', async (b) => {
  const e = await b.api.createEni({
    subnetId: b.subnet, securityGroups: [b.sg], secondaryCount: 2, description: 'aws-K8S-node-1',
    tags: { [CLUSTER_TAG]: 'c1', 'node.k8s.amazonaws.com/instance_id': b.instanceId }, clientToken: `tok-${b.name}-1`,
  });
  s(b).eni = e.id;
  const shape = eniShape(b, e)!;
  return { ...shape, tags: { ...shape.tags, 'node.k8s.amazonaws.com/instance_id': idOf(b, shape.tags['node.k8s.amazonaws.com/instance_id'], 'i') } };
});

step('create: in an unknown subnet', (b) => outcome(b.api.createEni({ subnetId: 'subnet-0123456789abcdef0', securityGroups: [], description: 'x', tags: {} })));

step('describe: the new ENI by ID (getEni)', async (b) => eniShape(b, await b.api.getEni(s(b).eni))?.secondaryIps);

step('describe: an unknown ENI by ID is undefined', async (b) => b.api.getEni(UNKNOWN_ENI));

step('attach at device index 1', async (b) => {
  const r = await outcome(b.api.attachEni(s(b).eni, b.instanceId, 1));
  if ('ok' in r) s(b).attachment = r.ok;
  return 'ok' in r ? idOf(b, r.ok, 'attach') : r;
});

step('describe: the instance\'s ENIs after attach', async (b) => primaryDot((await b.api.instanceEnis(b.instanceId, { maxAgeMs: 0 }))
  .map((e) => eniShape(b, e)!).sort((x, y) => (x.attachment?.deviceIndex ?? 0) - (y.attachment?.deviceIndex ?? 0))
  .map(({ description: _d, tags: _t, ...rest }) => rest as ReturnType<typeof eniShape>)), checkPrimaryDot, 'primary ENI: DeleteOnTermination');

step('attach: to an unknown instance', (b) => outcome(b.api.attachEni(s(b).eni, 'i-0123456789abcdef0', 2)));

step('delete-on-termination', async (b) => {
  await b.api.setDeleteOnTermination(s(b).eni, s(b).attachment, { instanceId: b.instanceId });
  return (await b.api.getEni(s(b).eni))?.attachment?.deleteOnTermination;
}, (a, m) => {
  assert.equal(a, true, 'ec2-sim sets DeleteOnTermination');
  assert.equal(m, false, 'moto ignores Attachment.DeleteOnTermination (remove the MOTO_DIFFERENCES entry if it no longer does)');
});

step('assign: returned addresses', async (b) => {
  const got = await b.api.assignPrivateIps(s(b).eni, 3, { instanceId: b.instanceId, subnetId: b.subnet });
  const e = (await b.api.getEni(s(b).eni))!;
  s(b).assigned = JSON.stringify(got.filter((ip) => e.secondaryIps.includes(ip)));
  return { returned: got.length, returnedSecondaries: got.filter((ip) => e.secondaryIps.includes(ip)).length, returnedPrimary: got.includes(e.primaryIp), secondariesNow: e.secondaryIps.length };
}, (a, m) => {
  assert.deepEqual(a, { returned: 3, returnedSecondaries: 3, returnedPrimary: false, secondariesNow: 5 });
  assert.deepEqual(m, { returned: 6, returnedSecondaries: 5, returnedPrimary: true, secondariesNow: 5 }, 'moto lists the whole ENI');
});

step('assign: to an unknown ENI', (b) => outcome(b.api.assignPrivateIps(UNKNOWN_ENI, 1, { instanceId: b.instanceId })));

step('assign: beyond the per-ENI limit', async (b) => {
  // Its own ENI, so moto's surplus addresses do not leak into later steps; attached, because the limit
  // is the instance type's.
  const e = await b.api.createEni({ subnetId: b.subnet, securityGroups: [], description: 'limit', tags: {} });
  const att = await b.api.attachEni(e.id, b.instanceId, 2);
  const r = await outcome(b.api.assignPrivateIps(e.id, 20, { instanceId: b.instanceId }));
  const held = (await b.api.getEni(e.id))!.secondaryIps.length;
  await b.api.detachEni(att, { eniId: e.id, instanceId: b.instanceId });
  await b.api.deleteEni(e.id);
  return { r: 'ok' in r ? `${r.ok.length} returned` : r.error, held };
}, (a, m) => {
  assert.deepEqual(a, { r: { kind: 'limit', code: 'PrivateIpAddressLimitExceeded', status: 400 }, held: 0 }, 'ec2-sim refuses 21 addresses on an m5.large ENI (limit 10)');
  assert.deepEqual(m, { r: '21 returned', held: 20 }, 'moto assigns them');
});

step('unassign: two secondaries', async (b) => {
  const e0 = (await b.api.getEni(s(b).eni))!;
  const drop = e0.secondaryIps.slice(0, 2);
  await b.api.unassignPrivateIps(s(b).eni, drop, { instanceId: b.instanceId, subnetId: b.subnet });
  const e = (await b.api.getEni(s(b).eni))!;
  return { before: e0.secondaryIps.length, after: e.secondaryIps.length, gone: drop.every((ip) => !e.secondaryIps.includes(ip)) };
}, undefined);

step('unassign: address not on the ENI', (b) => outcome(b.api.unassignPrivateIps(s(b).eni, ['10.0.1.254'], { instanceId: b.instanceId })), (a, m) => {
  assert.deepEqual(a, { error: { kind: 'invalid-parameter', code: 'InvalidParameterValue', status: 400 } });
  assert.deepEqual(m, { ok: undefined });
});

step('find: ENIs by cluster tag', async (b) => (await b.api.findEnis([{ Name: `tag:${CLUSTER_TAG}`, Values: ['c1'] }])).map((e) => idOf(b, e.id, 'eni')));

step('find: by attachment.instance-id with an unknown second instance', async (b) => (await b.api.findEnis([{ Name: 'attachment.instance-id', Values: [b.instanceId, 'i-0123456789abcdef0'] }]))
  .map((e) => idOf(b, e.id, 'eni')).sort());

step('find: by status available', async (b) => (await b.api.findEnis([{ Name: 'status', Values: ['available'] }])).map((e) => idOf(b, e.id, 'eni')));

step('find: by subnet and description', async (b) => (await b.api.findEnis([{ Name: 'subnet-id', Values: [b.subnet] }, { Name: 'description', Values: ['aws-K8S-node-1'] }])).map((e) => idOf(b, e.id, 'eni')));

step('tags: CreateTags and DeleteTags on an ENI', async (b) => {
  await b.ec2.send(new CreateTagsCommand({ Resources: [s(b).eni], Tags: [{ Key: 'extra', Value: 'x' }, { Key: 'empty', Value: '' }] }));
  const added = (await b.api.getEni(s(b).eni))!.tags;
  await b.ec2.send(new DeleteTagsCommand({ Resources: [s(b).eni], Tags: [{ Key: 'extra' }] }));
  const left = (await b.api.getEni(s(b).eni))!.tags;
  return { added: Object.keys(added).sort(), left: Object.keys(left).sort() };
});

step('describe: pagination', async (b) => {
  const made: string[] = [];
  for (let i = 0; i < 7; i++) {
    const r = await b.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: b.subnet, Description: 'page-test' }));
    made.push(r.NetworkInterface!.NetworkInterfaceId!);
  }
  const pages: string[][] = [];
  let token: string | undefined;
  do {
    const r = await b.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['page-test'] }], MaxResults: 5, NextToken: token }));
    pages.push((r.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!));
    token = r.NextToken;
  } while (token && pages.length < 10);
  // The client follows pages itself: all seven either way.
  const viaClient = (await b.api.findEnis([{ Name: 'description', Values: ['page-test'] }])).length;
  for (const id of made) await b.api.deleteEni(id);
  return { pageSizes: pages.map((p) => p.length), all: new Set(pages.flat()).size === 7 && made.every((id) => pages.flat().includes(id)), viaClient };
}, (a, m) => {
  assert.deepEqual(a, { pageSizes: [5, 2], all: true, viaClient: 7 });
  assert.deepEqual(m, { pageSizes: [7], all: true, viaClient: 7 });
});

step('detach: an unknown attachment', (b) => outcome(b.api.detachEni('eni-attach-0123456789abcdef0', { instanceId: b.instanceId })));

step('detach and delete: the ENI is gone and its addresses are back', async (b) => {
  await b.api.detachEni(s(b).attachment, { eniId: s(b).eni, instanceId: b.instanceId });
  const detached = (await b.api.getEni(s(b).eni))!;
  await b.api.deleteEni(s(b).eni, { instanceId: b.instanceId });
  const subnets = await b.api.subnets(b.vpc, ZONE, { maxAgeMs: 0 });
  return { status: detached.status, attachment: detached.attachment, gone: (await b.api.getEni(s(b).eni)) === undefined, available: subnets[0].available };
});

step('delete: an unknown ENI', (b) => outcome(b.api.deleteEni(UNKNOWN_ENI)));

step('unassign: primary address', async (b) => {
  const e = (await b.api.getEni(s(b).primary))!;
  return outcome(b.api.unassignPrivateIps(e.id, [e.primaryIp], { instanceId: b.instanceId }));
}, (a, m) => {
  assert.deepEqual(a, { error: { kind: 'invalid-parameter', code: 'InvalidParameterValue', status: 400 } });
  assert.deepEqual(m, { ok: undefined });
});

step('create: idempotent ClientToken', async (b) => {
  const one = await b.api.createEni({ subnetId: b.subnet, securityGroups: [], description: 'token', tags: {}, clientToken: `tok-${b.name}-2` });
  const two = await b.api.createEni({ subnetId: b.subnet, securityGroups: [], description: 'token', tags: {}, clientToken: `tok-${b.name}-2` });
  for (const id of new Set([one.id, two.id])) await b.api.deleteEni(id);
  return one.id === two.id;
}, (a, m) => {
  assert.equal(a, true, 'ec2-sim returns the first ENI for a repeated ClientToken');
  assert.equal(m, false, 'moto creates a second ENI');
});

step('attach: device index already used', async (b) => {
  const x = await b.api.createEni({ subnetId: b.subnet, securityGroups: [], description: 'dup-index', tags: {} });
  const y = await b.api.createEni({ subnetId: b.subnet, securityGroups: [], description: 'dup-index', tags: {} });
  await b.api.attachEni(x.id, b.instanceId, 1);
  const r = await outcome(b.api.attachEni(y.id, b.instanceId, 1));
  const onIndex1 = (await b.api.instanceEnis(b.instanceId, { maxAgeMs: 0 })).filter((e) => e.attachment?.deviceIndex === 1).length;
  s(b).dupX = x.id; s(b).dupY = y.id;
  return { r: 'ok' in r ? 'attached' : r.error, onIndex1 };
}, (a, m) => {
  assert.deepEqual(a, { r: { kind: 'invalid-parameter', code: 'InvalidParameterValue', status: 400 }, onIndex1: 1 });
  assert.deepEqual(m, { r: 'attached', onIndex1: 2 }, 'moto attaches both at index 1');
});

step('delete: attached ENI', async (b) => outcome(b.api.deleteEni(s(b).dupX, { instanceId: b.instanceId })), (a, m) => {
  assert.deepEqual(a, { error: { kind: 'in-use', code: 'InvalidParameterValue', status: 400 } });
  assert.deepEqual(m, { ok: undefined });
});

// Last: moto really detaches the primary ENI here, which would change every later step.
step('detach: the primary ENI', (b) => outcome(b.api.detachEni(s(b).primaryAttachment, { instanceId: b.instanceId })), (a, m) => {
  assert.deepEqual(a, { error: { kind: 'other', code: 'OperationNotPermitted', status: 400 } });
  assert.deepEqual(m, { ok: undefined }, 'moto detaches it (another ENI is attached)');
});
