// Observation hooks the sandbox's invariant checks rely on, and address consumption by outsiders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AssignPrivateIpAddressesCommand, CreateNetworkInterfaceCommand, DeleteNetworkInterfaceCommand, UnassignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import { ManualClock } from '../../lib/clock.ts';
import { ec2Client, startEc2Sim } from './index.ts';

test('onAddressesReleased fires before unassign, delete and termination drop addresses', async () => {
  const sim = await startEc2Sim({ clock: new ManualClock(), throttle: { disabled: true } });
  try {
    const vpc = sim.admin.createVpc('10.0.0.0/16');
    const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.1.0/24', zone: 'us-east-1a' });
    const seen: [string, string[], number][] = [];
    sim.admin.onAddressesReleased((eni, ips) => seen.push([eni, ips, sim.admin.subnetFree(subnet)]));
    const ec2 = ec2Client(sim.endpoint);
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet, SecondaryPrivateIpAddressCount: 2 }))).NetworkInterface!;
    const secondaries = eni.PrivateIpAddresses!.filter((p) => !p.Primary).map((p) => p.PrivateIpAddress!);
    const freeBefore = sim.admin.subnetFree(subnet);
    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId!, PrivateIpAddresses: [secondaries[0]!] }));
    assert.deepEqual(seen[0], [eni.NetworkInterfaceId, [secondaries[0]], freeBefore], 'observer runs before the address is freed');
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId! }));
    assert.equal(seen[1]![0], eni.NetworkInterfaceId);
    assert.equal(seen[1]![1].length, 2, 'primary and remaining secondary');
    const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet });
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: inst.primaryEniId, SecondaryPrivateIpAddressCount: 1 }));
    sim.admin.terminateInstance(inst.instanceId);
    assert.equal(seen[2]![0], inst.primaryEniId);
    assert.equal(seen[2]![1].length, 2);
  } finally { await sim.close(); }
});

test('consumeAddresses takes subnet room away and refuses more than is free', async () => {
  const sim = await startEc2Sim({ clock: new ManualClock(), throttle: { disabled: true } });
  try {
    const vpc = sim.admin.createVpc('10.0.0.0/16');
    const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.2.0/28', zone: 'us-east-1a' });
    assert.equal(sim.admin.subnetFree(subnet), 11);
    sim.admin.consumeAddresses(subnet, 10);
    assert.equal(sim.admin.subnetFree(subnet), 1);
    assert.throws(() => sim.admin.consumeAddresses(subnet, 2), /only 1 free/);
    const ec2 = ec2Client(sim.endpoint);
    await assert.rejects(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet, SecondaryPrivateIpAddressCount: 1 })), { name: 'InsufficientFreeAddressesInSubnet' });
  } finally { await sim.close(); }
});

test('consumeAddresses with spread fragments a subnet: free addresses, no aligned /28, InsufficientCidrBlocks', async () => {
  const sim = await startEc2Sim({ clock: new ManualClock(), throttle: { disabled: true } });
  try {
    const vpc = sim.admin.createVpc('10.0.0.0/16');
    const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.3.0/24', zone: 'us-east-1a' });
    sim.admin.consumeAddresses(subnet, 16, { spread: true });
    assert.equal(sim.admin.subnetFree(subnet), 251 - 16);
    const ec2 = ec2Client(sim.endpoint);
    await assert.rejects(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet, Ipv4PrefixCount: 1 })), { name: 'InsufficientCidrBlocks' });
    // Single IPs still work: fragmentation only hurts prefixes.
    const r = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet, SecondaryPrivateIpAddressCount: 4 }));
    assert.equal(r.NetworkInterface?.PrivateIpAddresses?.length, 5);
  } finally { await sim.close(); }
});
