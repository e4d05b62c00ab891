// ec2-sim over real HTTP with the real @aws-sdk/client-ec2: success paths assert parsed fields.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssignPrivateIpAddressesCommand, AssociateTrunkInterfaceCommand, AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand,
  CreateTagsCommand, DeleteNetworkInterfaceCommand, DeleteTagsCommand, DescribeInstancesCommand, DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand, DescribeSubnetsCommand, DescribeTrunkInterfaceAssociationsCommand, DetachNetworkInterfaceCommand,
  DisassociateTrunkInterfaceCommand, ModifyNetworkInterfaceAttributeCommand, RunInstancesCommand, TerminateInstancesCommand,
  UnassignPrivateIpAddressesCommand, type EC2Client, type _InstanceType,
} from '@aws-sdk/client-ec2';
import { ManualClock } from '../../lib/clock.ts';
import { ec2Client, startEc2Sim, type Ec2Sim, type Ec2SimOptions } from './index.ts';

const sims: Ec2Sim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

async function setup(o: Partial<Ec2SimOptions> = {}) {
  const clock = new ManualClock();
  const sim = await startEc2Sim({ clock, throttle: { disabled: true }, ...o });
  sims.push(sim);
  const vpc = sim.admin.createVpc('10.0.0.0/16');
  const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.1.0/24', zone: 'us-east-1a', tags: { 'kubernetes.io/role/cni': '1' } });
  const ec2 = ec2Client(sim.endpoint);
  return { sim, clock, vpc, subnet, ec2 };
}

type SdkErr = { name: string; message: string; $metadata: { httpStatusCode?: number } };
async function rejectsWith(p: Promise<unknown>, code: string, status = 400, msg?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const err = e as SdkErr;
    assert.equal(err.name, code, `expected ${code}, got ${err.name}: ${err.message}`);
    assert.equal(err.$metadata.httpStatusCode, status);
    if (msg) assert.match(err.message, msg);
    return true;
  });
}

async function createEni(ec2: EC2Client, subnetId: string, extra: Record<string, unknown> = {}) {
  const r = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, ...extra }));
  return r.NetworkInterface!;
}

test('CreateNetworkInterface: parsed fields, lowest addresses, tags, groups, description', async () => {
  const { ec2, subnet, vpc } = await setup();
  const r = await ec2.send(new CreateNetworkInterfaceCommand({
    SubnetId: subnet, Description: 'aws-K8S-i-123', SecondaryPrivateIpAddressCount: 2, Groups: ['sg-0123456789abcdef0'],
    TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-123' }, { Key: 'empty', Value: '' }] }],
  }));
  const n = r.NetworkInterface!;
  assert.match(n.NetworkInterfaceId!, /^eni-[0-9a-f]{17}$/);
  assert.equal(n.SubnetId, subnet);
  assert.equal(n.VpcId, vpc);
  assert.equal(n.AvailabilityZone, 'us-east-1a');
  assert.equal(n.Description, 'aws-K8S-i-123');
  assert.equal(n.Status, 'available');
  assert.equal(n.InterfaceType, 'interface');
  assert.match(n.MacAddress!, /^02(:[0-9a-f]{2}){5}$/);
  assert.equal(n.PrivateIpAddress, '10.0.1.4');
  assert.deepEqual(n.PrivateIpAddresses!.map((x) => [x.PrivateIpAddress, x.Primary]), [['10.0.1.4', true], ['10.0.1.5', false], ['10.0.1.6', false]]);
  assert.deepEqual(n.Groups!.map((g) => g.GroupId), ['sg-0123456789abcdef0']);
  assert.deepEqual(n.TagSet, [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-123' }, { Key: 'empty', Value: '' }]);
  assert.equal(n.Attachment, undefined);
  assert.equal(n.SourceDestCheck, true);
  assert.equal(n.RequesterManaged, false);
});

test('CreateNetworkInterface: explicit addresses, prefixes, trunk type, idempotent ClientToken', async () => {
  const { ec2, subnet } = await setup();
  const a = await createEni(ec2, subnet, { PrivateIpAddresses: [{ PrivateIpAddress: '10.0.1.50', Primary: true }, { PrivateIpAddress: '10.0.1.51', Primary: false }] });
  assert.deepEqual(a.PrivateIpAddresses!.map((x) => x.PrivateIpAddress), ['10.0.1.50', '10.0.1.51']);
  const b = await createEni(ec2, subnet, { PrivateIpAddress: '10.0.1.60' });
  assert.equal(b.PrivateIpAddress, '10.0.1.60');
  const c = await createEni(ec2, subnet, { Ipv4PrefixCount: 2 });
  // 10.0.1.0/28 holds reserved addresses; 10.0.1.48/28 and .112 are taken → next free aligned blocks
  assert.deepEqual(c.Ipv4Prefixes!.map((x) => x.Ipv4Prefix), ['10.0.1.16/28', '10.0.1.32/28']);
  const d = await createEni(ec2, subnet, { Ipv4Prefixes: [{ Ipv4Prefix: '10.0.1.128/28' }] });
  assert.deepEqual(d.Ipv4Prefixes!.map((x) => x.Ipv4Prefix), ['10.0.1.128/28']);
  const t = await createEni(ec2, subnet, { InterfaceType: 'trunk', Description: 'aws-k8s-trunk-eni' });
  assert.equal(t.InterfaceType, 'trunk');
  const k1 = await createEni(ec2, subnet, { ClientToken: 'tok-1' });
  const k2 = await createEni(ec2, subnet, { ClientToken: 'tok-1' });
  assert.equal(k1.NetworkInterfaceId, k2.NetworkInterfaceId);
  await rejectsWith(createEni(ec2, subnet, { PrivateIpAddress: '10.0.1.60' }), 'InvalidIPAddress.InUse');
  await rejectsWith(createEni(ec2, subnet, { PrivateIpAddress: '10.0.2.5' }), 'InvalidParameterValue', 400, /does not fall within/);
  await rejectsWith(createEni(ec2, subnet, { PrivateIpAddress: '10.0.1.1' }), 'InvalidParameterValue', 400, /reserved/);
  await rejectsWith(createEni(ec2, subnet, { InterfaceType: 'bogus' }), 'InvalidParameterValue');
  await rejectsWith(createEni(ec2, subnet, { Groups: ['nope'] }), 'InvalidGroupId.Malformed');
  await rejectsWith(createEni(ec2, 'subnet-00000000000000000'), 'InvalidSubnetID.NotFound');
  await rejectsWith(createEni(ec2, subnet, { SecondaryPrivateIpAddressCount: 64 }), 'PrivateIpAddressLimitExceeded');
  await rejectsWith(createEni(ec2, subnet, { SecondaryPrivateIpAddressCount: 1, PrivateIpAddresses: [{ PrivateIpAddress: '10.0.1.90', Primary: false }] }), 'InvalidParameterValue', 400, /primary/);
  await rejectsWith(createEni(ec2, subnet, { Ipv4PrefixCount: 1, Ipv4Prefixes: [{ Ipv4Prefix: '10.0.1.144/28' }] }), 'InvalidParameterCombination');
});

test('RunInstances, DescribeInstances (reservations, ENIs), TerminateInstances', async () => {
  const { ec2, subnet, sim } = await setup();
  const run = await ec2.send(new RunInstancesCommand({
    InstanceType: 'm5.large', SubnetId: subnet, MinCount: 2, MaxCount: 2, SecurityGroupIds: ['sg-00000000000000001'],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'node-a' }] }],
  }));
  assert.match(run.ReservationId!, /^r-[0-9a-f]{17}$/);
  assert.equal(run.Instances!.length, 2);
  const i0 = run.Instances![0]!;
  assert.match(i0.InstanceId!, /^i-[0-9a-f]{17}$/);
  assert.equal(i0.InstanceType, 'm5.large');
  assert.equal(i0.State?.Name, 'running');
  assert.equal(i0.State?.Code, 16);
  assert.equal(i0.Placement?.AvailabilityZone, 'us-east-1a');
  assert.ok(i0.LaunchTime instanceof Date);
  assert.deepEqual(i0.Tags, [{ Key: 'Name', Value: 'node-a' }]);
  const prim = i0.NetworkInterfaces![0]!;
  assert.equal(prim.Attachment?.DeviceIndex, 0);
  assert.equal(prim.Attachment?.DeleteOnTermination, true);
  assert.equal(prim.Attachment?.Status, 'attached');
  assert.equal(prim.PrivateIpAddress, i0.PrivateIpAddress);
  assert.deepEqual(prim.Groups!.map((g) => g.GroupId), ['sg-00000000000000001']);

  const d = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [i0.InstanceId!] }));
  assert.equal(d.Reservations!.length, 1);
  assert.equal(d.Reservations![0]!.ReservationId, run.ReservationId);
  assert.equal(d.Reservations![0]!.Instances![0]!.SubnetId, subnet);
  const byTag = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['node-*'] }, { Name: 'instance-state-name', Values: ['running'] }] }));
  assert.equal(byTag.Reservations!.flatMap((r) => r.Instances!).length, 2);
  await rejectsWith(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-00000000000000000'] })), 'InvalidInstanceID.NotFound');
  await rejectsWith(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'bogus', Values: ['x'] }] })), 'InvalidParameterValue', 400, /bogus/);

  // Termination: DeleteOnTermination ENIs go, others are detached and kept.
  const extra = await createEni(ec2, subnet, { SecondaryPrivateIpAddressCount: 3 });
  const att = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: extra.NetworkInterfaceId!, InstanceId: i0.InstanceId!, DeviceIndex: 1 }));
  const before = sim.admin.subnetFree(subnet);
  const t = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [i0.InstanceId!] }));
  assert.equal(t.TerminatingInstances![0]!.PreviousState?.Name, 'running');
  assert.equal(t.TerminatingInstances![0]!.CurrentState?.Name, 'terminated');
  assert.equal(sim.admin.subnetFree(subnet), before + 1, 'only the primary ENI address is freed');
  const left = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [extra.NetworkInterfaceId!] }));
  assert.equal(left.NetworkInterfaces![0]!.Status, 'available');
  assert.equal(left.NetworkInterfaces![0]!.Attachment, undefined);
  await rejectsWith(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [prim.NetworkInterfaceId!] })), 'InvalidNetworkInterfaceID.NotFound');
  await rejectsWith(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: att.AttachmentId! })), 'InvalidAttachmentID.NotFound');
  assert.equal(sim.admin.instance(i0.InstanceId!)?.state, 'terminated');
  await rejectsWith(ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-00000000000000000'] })), 'InvalidInstanceID.NotFound');
  await rejectsWith(ec2.send(new RunInstancesCommand({ InstanceType: 'm5.large', SubnetId: 'subnet-00000000000000000', MinCount: 1, MaxCount: 1 })), 'InvalidSubnetID.NotFound');
  await rejectsWith(ec2.send(new RunInstancesCommand({ InstanceType: 'x9.nope' as _InstanceType, SubnetId: subnet, MinCount: 1, MaxCount: 1 })), 'InvalidParameterValue');
});

test('attach is asynchronous: attaching → attached after attachLatencyMs; detach → available after detachLatencyMs', async () => {
  const { ec2, subnet, sim, clock } = await setup({ attachLatencyMs: 1000, detachLatencyMs: 2000 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet });
  const eni = await createEni(ec2, subnet);
  const id = eni.NetworkInterfaceId!;
  const att = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: inst.instanceId, DeviceIndex: 1 }));
  assert.match(att.AttachmentId!, /^eni-attach-[0-9a-f]{17}$/);
  assert.equal(att.NetworkCardIndex, 0);
  const get = async () => (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
  let n = await get();
  assert.equal(n.Status, 'attaching');
  assert.equal(n.Attachment?.Status, 'attaching');
  assert.equal(n.Attachment?.InstanceId, inst.instanceId);
  assert.equal(n.Attachment?.DeviceIndex, 1);
  assert.equal(n.Attachment?.DeleteOnTermination, false);
  assert.ok(n.Attachment?.AttachTime instanceof Date);
  assert.equal(n.Attachment?.AttachTime?.getTime(), clock.now());
  clock.advance(999);
  assert.equal((await get()).Attachment?.Status, 'attaching');
  clock.advance(1);
  n = await get();
  assert.equal(n.Status, 'in-use');
  assert.equal(n.Attachment?.Status, 'attached');
  const di = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [inst.instanceId] }));
  assert.deepEqual(di.Reservations![0]!.Instances![0]!.NetworkInterfaces!.map((x) => x.Attachment?.DeviceIndex), [0, 1]);

  await rejectsWith(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })), 'InvalidParameterValue', 400, new RegExp(`Network interface '${id}' is currently in use`));
  await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: att.AttachmentId! }));
  n = await get();
  assert.equal(n.Status, 'detaching');
  assert.equal(n.Attachment?.Status, 'detaching');
  await rejectsWith(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })), 'InvalidParameterValue', 400, /currently in use/);
  clock.advance(2000);
  n = await get();
  assert.equal(n.Status, 'available');
  assert.equal(n.Attachment, undefined);
  await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
  await rejectsWith(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id })), 'InvalidNetworkInterfaceID.NotFound');
  await rejectsWith(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-00000000000000000' })), 'InvalidAttachmentID.NotFound');
  // The primary ENI cannot be detached.
  const prim = sim.admin.listEnis().find((e) => e.id === inst.primaryEniId)!;
  await rejectsWith(ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: prim.attachment!.attachmentId })), 'OperationNotPermitted');
});

test('attach limits: device index in use, AttachmentLimitExceeded, PrivateIpAddressLimitExceeded, not found', async () => {
  const { ec2, subnet, sim } = await setup({ attachLatencyMs: 0 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet }); // 3 ENIs, 10 IPs each
  const attach = (eni: string, idx: number) => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: inst.instanceId, DeviceIndex: idx }));
  const e1 = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  const e2 = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  const e3 = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  const big = (await createEni(ec2, subnet, { SecondaryPrivateIpAddressCount: 10 })).NetworkInterfaceId!;
  await rejectsWith(attach(big, 1), 'PrivateIpAddressLimitExceeded');
  await attach(e1, 1);
  await rejectsWith(attach(e2, 1), 'InvalidParameterValue', 400, /device index '1'/);
  await rejectsWith(attach(e1, 3), 'InvalidParameterValue', 400, /in use/);
  await attach(e2, 2);
  await rejectsWith(attach(e3, 3), 'AttachmentLimitExceeded', 400, /exceeds the limit for m5\.large/);
  await rejectsWith(attach('eni-00000000000000000', 3), 'InvalidNetworkInterfaceID.NotFound');
  await rejectsWith(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: e3, InstanceId: 'i-00000000000000000', DeviceIndex: 3 })), 'InvalidInstanceID.NotFound');
  await rejectsWith(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: e3, InstanceId: inst.instanceId, DeviceIndex: 3, NetworkCardIndex: 5 })), 'InvalidParameterValue', 400, /Network card/);
});

test('Assign/Unassign private IPs and prefixes; per-ENI limit from the instance type', async () => {
  const { ec2, subnet, sim } = await setup({ attachLatencyMs: 0 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet });
  const id = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: inst.instanceId, DeviceIndex: 1 }));
  const r = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 3 }));
  assert.equal(r.NetworkInterfaceId, id);
  assert.equal(r.AssignedPrivateIpAddresses!.length, 3);
  const r2 = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: ['10.0.1.200'] }));
  assert.deepEqual(r2.AssignedPrivateIpAddresses!.map((x) => x.PrivateIpAddress), ['10.0.1.200']);
  const r3 = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, Ipv4PrefixCount: 1 }));
  assert.equal(r3.AssignedIpv4Prefixes!.length, 1);
  assert.match(r3.AssignedIpv4Prefixes![0]!.Ipv4Prefix!, /^10\.0\.1\.\d+\/28$/);
  // 1 primary + 3 + 1 + 1 prefix = 6 of 10 slots
  await rejectsWith(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 5 })), 'PrivateIpAddressLimitExceeded');
  await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 4 }));
  await rejectsWith(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 1 })), 'PrivateIpAddressLimitExceeded');
  await rejectsWith(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: id, SecondaryPrivateIpAddressCount: 1, Ipv4PrefixCount: 1 })), 'InvalidParameterCombination');
  await rejectsWith(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: 'eni-00000000000000000', SecondaryPrivateIpAddressCount: 1 })), 'InvalidNetworkInterfaceID.NotFound');

  const free = sim.admin.subnetFree(subnet);
  await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: ['10.0.1.200'] }));
  await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, Ipv4Prefixes: [r3.AssignedIpv4Prefixes![0]!.Ipv4Prefix!] }));
  assert.equal(sim.admin.subnetFree(subnet), free + 17);
  const n = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
  assert.equal(n.PrivateIpAddresses!.length, 8);
  assert.deepEqual(n.Ipv4Prefixes, []);
  await rejectsWith(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: ['10.0.1.200'] })), 'InvalidParameterValue', 400, /not assigned/);
  await rejectsWith(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: id, PrivateIpAddresses: [n.PrivateIpAddress!] })), 'InvalidParameterValue', 400, /primary/);
});

test('subnet accounting: a /28 has 11 usable addresses; InsufficientFreeAddressesInSubnet; InsufficientCidrBlocks', async () => {
  const { ec2, sim, vpc } = await setup();
  const small = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.9.0/28', zone: 'us-east-1a' });
  assert.equal(sim.admin.subnetFree(small), 11);
  const ds = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [small] }));
  assert.equal(ds.Subnets![0]!.AvailableIpAddressCount, 11);
  assert.equal(ds.Subnets![0]!.CidrBlock, '10.0.9.0/28');
  await rejectsWith(createEni(ec2, small, { Ipv4PrefixCount: 1 }), 'InsufficientCidrBlocks', 400, /cidr blocks/);
  const e = await createEni(ec2, small, { SecondaryPrivateIpAddressCount: 9 });
  assert.deepEqual(e.PrivateIpAddresses!.map((x) => x.PrivateIpAddress), ['10.0.9.4', '10.0.9.5', '10.0.9.6', '10.0.9.7', '10.0.9.8', '10.0.9.9', '10.0.9.10', '10.0.9.11', '10.0.9.12', '10.0.9.13']);
  assert.equal(sim.admin.subnetFree(small), 1);
  await rejectsWith(createEni(ec2, small, { SecondaryPrivateIpAddressCount: 1 }), 'InsufficientFreeAddressesInSubnet');
  assert.equal(sim.admin.subnetFree(small), 1, 'a failed create takes nothing');
  await rejectsWith(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: e.NetworkInterfaceId!, SecondaryPrivateIpAddressCount: 2 })), 'InsufficientFreeAddressesInSubnet');
  const last = await createEni(ec2, small);
  assert.equal(last.PrivateIpAddress, '10.0.9.14');
  assert.equal(sim.admin.subnetFree(small), 0);
  await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: last.NetworkInterfaceId! }));
  assert.equal(sim.admin.subnetFree(small), 1);
});

test('DescribeSubnets filters (vpc-id, availability-zone, tag) parse', async () => {
  const { ec2, sim, vpc, subnet } = await setup();
  const b = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.2.0/24', zone: 'us-east-1b' });
  const all = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc] }] }));
  assert.deepEqual(all.Subnets!.map((s) => s.SubnetId).sort(), [subnet, b].sort());
  const z = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: ['us-east-1b'] }] }));
  assert.deepEqual(z.Subnets!.map((s) => s.SubnetId), [b]);
  assert.equal(z.Subnets![0]!.AvailableIpAddressCount, 251);
  const t = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:kubernetes.io/role/cni', Values: ['1'] }] }));
  assert.deepEqual(t.Subnets!.map((s) => s.SubnetId), [subnet]);
  assert.deepEqual(t.Subnets![0]!.Tags, [{ Key: 'kubernetes.io/role/cni', Value: '1' }]);
  await rejectsWith(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-00000000000000000'] })), 'InvalidSubnetID.NotFound');
});

test('DescribeNetworkInterfaces filters and NextToken pagination', async () => {
  const { ec2, subnet, sim, vpc } = await setup({ attachLatencyMs: 0 });
  const other = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.3.0/24', zone: 'us-east-1b' });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet });
  const ids: string[] = [];
  for (let k = 0; k < 12; k++) {
    const e = await createEni(ec2, k < 9 ? subnet : other, {
      Description: k % 2 ? 'aws-K8S-i-odd' : 'other',
      TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'cluster', Value: k < 6 ? 'a' : 'b' }] }],
    });
    ids.push(e.NetworkInterfaceId!);
  }
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: ids[0]!, InstanceId: inst.instanceId, DeviceIndex: 1 }));
  const q = async (Filters: { Name: string; Values: string[] }[]) => (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters }))).NetworkInterfaces!.map((n) => n.NetworkInterfaceId!).sort();
  assert.deepEqual(await q([{ Name: 'attachment.instance-id', Values: [inst.instanceId] }]), [ids[0]!, inst.primaryEniId].sort());
  assert.deepEqual(await q([{ Name: 'attachment.status', Values: ['attached'] }]), [ids[0]!, inst.primaryEniId].sort());
  assert.equal((await q([{ Name: 'status', Values: ['available'] }])).length, 11);
  assert.equal((await q([{ Name: 'subnet-id', Values: [other] }])).length, 3);
  assert.equal((await q([{ Name: 'availability-zone', Values: ['us-east-1b'] }])).length, 3);
  assert.equal((await q([{ Name: 'vpc-id', Values: [vpc] }])).length, 13);
  assert.equal((await q([{ Name: 'tag-key', Values: ['cluster'] }])).length, 12);
  assert.equal((await q([{ Name: 'tag:cluster', Values: ['a'] }])).length, 6);
  assert.equal((await q([{ Name: 'description', Values: ['aws-K8S-*'] }])).length, 6);
  assert.equal((await q([{ Name: 'description', Values: ['aws-K8S-*'] }, { Name: 'tag:cluster', Values: ['b'] }])).length, 3);
  assert.deepEqual(await q([{ Name: 'network-interface-id', Values: [ids[3]!, ids[4]!] }]), [ids[3]!, ids[4]!].sort());
  assert.equal((await q([{ Name: 'interface-type', Values: ['interface'] }])).length, 13);

  // Pagination: 13 ENIs, pages of 5.
  const seen: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5, NextToken: token }));
    seen.push(...r.NetworkInterfaces!.map((n) => n.NetworkInterfaceId!));
    token = r.NextToken;
    pages++;
  } while (token);
  assert.equal(pages, 3);
  assert.equal(new Set(seen).size, 13);
  await rejectsWith(ec2.send(new DescribeNetworkInterfacesCommand({ MaxResults: 2 })), 'InvalidParameterValue');
  await rejectsWith(ec2.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5, NetworkInterfaceIds: [ids[0]!] })), 'InvalidParameterCombination');
  await rejectsWith(ec2.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5, NextToken: '!!bad' })), 'InvalidParameterValue');
});

test('ModifyNetworkInterfaceAttribute, CreateTags, DeleteTags', async () => {
  const { ec2, subnet, sim } = await setup({ attachLatencyMs: 0 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet });
  const id = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  const att = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: inst.instanceId, DeviceIndex: 1 }));
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attachment: { AttachmentId: att.AttachmentId!, DeleteOnTermination: true } }));
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Groups: ['sg-0000000000000000a', 'sg-0000000000000000b'] }));
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Description: { Value: 'changed' } }));
  await ec2.send(new CreateTagsCommand({ Resources: [id, inst.instanceId], Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
  await ec2.send(new DeleteTagsCommand({ Resources: [id], Tags: [{ Key: 'a' }] }));
  const n = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
  assert.equal(n.Attachment?.DeleteOnTermination, true);
  assert.deepEqual(n.Groups!.map((g) => g.GroupId), ['sg-0000000000000000a', 'sg-0000000000000000b']);
  assert.equal(n.Description, 'changed');
  assert.deepEqual(n.TagSet, [{ Key: 'b', Value: '2' }]);
  assert.deepEqual(sim.admin.instance(inst.instanceId)?.tags, { a: '1', b: '2' });
  await rejectsWith(ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Attachment: { AttachmentId: 'eni-attach-00000000000000000', DeleteOnTermination: true } })), 'InvalidAttachmentID.NotFound');
  await rejectsWith(ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id })), 'InvalidParameterCombination');
  await rejectsWith(ec2.send(new CreateTagsCommand({ Resources: ['eni-00000000000000000'], Tags: [{ Key: 'a', Value: '1' }] })), 'InvalidNetworkInterfaceID.NotFound');
  // DeleteOnTermination now true: terminating removes the ENI and frees its address.
  const free = sim.admin.subnetFree(subnet);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [inst.instanceId] }));
  assert.equal(sim.admin.subnetFree(subnet), free + 2);
  assert.equal(sim.admin.listEnis().length, 0);
});

test('trunk/branch: associate, VLAN uniqueness, branch limit, disassociate, describe', async () => {
  const { ec2, subnet, sim } = await setup({ attachLatencyMs: 0 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet }); // branchENI 9
  const trunk = (await createEni(ec2, subnet, { InterfaceType: 'trunk' })).NetworkInterfaceId!;
  const b0 = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  await rejectsWith(ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b0, TrunkInterfaceId: trunk, VlanId: 1 })), 'IncorrectState', 400, /not attached/);
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: trunk, InstanceId: inst.instanceId, DeviceIndex: 2 }));
  const r = await ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b0, TrunkInterfaceId: trunk, VlanId: 1, ClientToken: 'ct-1' }));
  const a = r.InterfaceAssociation!;
  assert.match(a.AssociationId!, /^trunk-assoc-[0-9a-f]{17}$/);
  assert.equal(a.BranchInterfaceId, b0);
  assert.equal(a.TrunkInterfaceId, trunk);
  assert.equal(a.VlanId, 1);
  assert.equal(a.InterfaceProtocol, 'VLAN');
  assert.equal(r.ClientToken, 'ct-1');
  const bn = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [b0] }))).NetworkInterfaces![0]!;
  assert.equal(bn.InterfaceType, 'branch');
  assert.equal(bn.Status, 'in-use');
  await rejectsWith(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: b0 })), 'InvalidParameterValue', 400, /currently in use/);
  const b1 = (await createEni(ec2, subnet)).NetworkInterfaceId!;
  await rejectsWith(ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b1, TrunkInterfaceId: trunk, VlanId: 1 })), 'InvalidParameterValue', 400, /VLAN ID 1 is already in use/);
  await rejectsWith(ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b1, TrunkInterfaceId: trunk, VlanId: 4095 })), 'InvalidParameterValue');
  await rejectsWith(ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b1, TrunkInterfaceId: b0, VlanId: 2 })), 'InvalidParameterValue', 400, /not a trunk/);
  for (let v = 2; v <= 9; v++) {
    const b = (await createEni(ec2, subnet)).NetworkInterfaceId!;
    await ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b, TrunkInterfaceId: trunk, VlanId: v }));
  }
  await rejectsWith(ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b1, TrunkInterfaceId: trunk, VlanId: 10 })), 'InvalidParameterValue', 400, /Branch interface limit/);
  const d = await ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [trunk] }] }));
  assert.equal(d.InterfaceAssociations!.length, 9);
  const page = await ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ MaxResults: 5 }));
  assert.equal(page.InterfaceAssociations!.length, 5);
  assert.ok(page.NextToken);
  const dis = await ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: a.AssociationId! }));
  assert.equal(dis.Return, true);
  await rejectsWith(ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: a.AssociationId! })), 'InvalidAssociationID.NotFound');
  await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: b0 }));
  await ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: b1, TrunkInterfaceId: trunk, VlanId: 1 }));

  // Not trunking-compatible: t2 instances cannot hold a trunk.
  const old = sim.admin.runInstance({ instanceType: 't2.medium', subnetId: subnet });
  const t2 = (await createEni(ec2, subnet, { InterfaceType: 'trunk' })).NetworkInterfaceId!;
  await rejectsWith(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: t2, InstanceId: old.instanceId, DeviceIndex: 1 })), 'InvalidParameterValue', 400, /does not support trunk/);
});

test('DescribeInstanceTypes: limits from the table, paging, unknown type', async () => {
  const { ec2 } = await setup();
  const r = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large', 'm6a.32xlarge'] }));
  const by = Object.fromEntries(r.InstanceTypes!.map((t) => [t.InstanceType!, t]));
  assert.equal(by['m5.large']!.NetworkInfo?.MaximumNetworkInterfaces, 3);
  assert.equal(by['m5.large']!.NetworkInfo?.Ipv4AddressesPerInterface, 10);
  assert.equal(by['m5.large']!.NetworkInfo?.DefaultNetworkCardIndex, 0);
  assert.deepEqual(by['m5.large']!.NetworkInfo?.NetworkCards?.map((c) => [c.NetworkCardIndex, c.MaximumNetworkInterfaces]), [[0, 3]]);
  assert.equal(by['m5.large']!.Hypervisor, 'nitro');
  assert.equal(by['m5.large']!.BareMetal, false);
  assert.equal(by['m6a.32xlarge']!.NetworkInfo?.Ipv4AddressesPerInterface, 50);
  const page = await ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 20 }));
  assert.equal(page.InstanceTypes!.length, 20);
  assert.ok(page.NextToken);
  const f = await ec2.send(new DescribeInstanceTypesCommand({ Filters: [{ Name: 'instance-type', Values: ['m5.*'] }], MaxResults: 100 }));
  assert.ok(f.InstanceTypes!.length > 5 && f.InstanceTypes!.every((t) => t.InstanceType!.startsWith('m5.')));
  await rejectsWith(ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['x9.nope' as _InstanceType] })), 'InvalidInstanceType');
});
