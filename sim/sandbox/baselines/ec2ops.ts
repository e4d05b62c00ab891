// The few EC2 operations the baseline node agents need, over the real SDK, the way the anchors do
// them: fill existing ENIs with AssignPrivateIpAddresses; otherwise Create → Attach → Modify
// (DeleteOnTermination), deleting the ENI if attach fails; free an ENI with Detach → wait → Delete.
import {
  AssignPrivateIpAddressesCommand, AssociateTrunkInterfaceCommand, AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand, DetachNetworkInterfaceCommand,
  DisassociateTrunkInterfaceCommand, ModifyNetworkInterfaceAttributeCommand, UnassignPrivateIpAddressesCommand, type EC2Client,
} from '@aws-sdk/client-ec2';
import type { Clock } from '../../../lib/clock.ts';
import { noGate, type CallGate } from '../gate.ts';

// Each call spends one token of its gate (Cilium's operator-wide limiter); ipamd has none.

export interface BaselineSubnet { id: string; cidr: string; available: number; tags: Record<string, string> }

export class BaselineEc2 {
  constructor(private readonly ec2: EC2Client, private readonly clock: Clock, private readonly gate: CallGate = noGate) {}

  private async call<T>(f: (ec2: EC2Client) => Promise<T>): Promise<T> {
    await this.gate();
    return f(this.ec2);
  }

  async subnets(vpcId: string, zone: string): Promise<BaselineSubnet[]> {
    const r = await this.call((ec2) => ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'availability-zone', Values: [zone] }] })));
    return (r.Subnets ?? []).map((s) => ({
      id: s.SubnetId!, cidr: s.CidrBlock!, available: s.AvailableIpAddressCount ?? 0,
      tags: Object.fromEntries((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    }));
  }

  /** Spends one token of the gate without a call (Describe actions ec2-sim does not serve). */
  async token(): Promise<void> { await this.gate(); }

  /** Every ENI of the VPC, paginated like Cilium's full resync (MaxResults 1000); returns the pages read. */
  async describeVpcEnis(vpcId: string): Promise<number> {
    let next: string | undefined;
    let pages = 0;
    do {
      const r = await this.call((ec2) => ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], MaxResults: 1000, NextToken: next })));
      next = r.NextToken;
      pages++;
    } while (next);
    return pages;
  }

  /** The ENIs attached to one instance (Cilium's per-instance sync after a mutation). */
  async describeInstanceEnis(instanceId: string): Promise<void> {
    await this.call((ec2) => ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] })));
  }

  /** Subnets of a VPC (all zones), for a resync cache. */
  async vpcSubnets(vpcId: string): Promise<(BaselineSubnet & { zone: string })[]> {
    const r = await this.call((ec2) => ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] })));
    return (r.Subnets ?? []).map((s) => ({
      id: s.SubnetId!, cidr: s.CidrBlock!, available: s.AvailableIpAddressCount ?? 0, zone: s.AvailabilityZone ?? '',
      tags: Object.fromEntries((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    }));
  }

  async assign(eniId: string, count: number): Promise<string[]> {
    const r = await this.call((ec2) => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: count })));
    return (r.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress!);
  }

  /** AssignPrivateIpAddresses with Ipv4PrefixCount (prefix delegation): the /28s assigned. */
  async assignPrefixes(eniId: string, count: number): Promise<string[]> {
    const r = await this.call((ec2) => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: count })));
    return (r.AssignedIpv4Prefixes ?? []).map((a) => a.Ipv4Prefix!);
  }

  async unassignPrefixes(eniId: string, prefixes: string[]): Promise<void> {
    await this.call((ec2) => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4Prefixes: prefixes })));
  }

  async unassign(eniId: string, ips: string[]): Promise<void> {
    await this.call((ec2) => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: ips })));
  }

  /** Create + attach + DeleteOnTermination; the ENI is deleted again if attach fails. */
  async createEni(o: { instanceId: string; subnetId: string; count: number; prefixes?: boolean; deviceIndex: number; groups: string[]; tags: Record<string, string>; description: string }): Promise<{ eniId: string; ips: string[]; prefixes: string[] }> {
    const c = await this.call((ec2) => ec2.send(new CreateNetworkInterfaceCommand({
      SubnetId: o.subnetId, Groups: o.groups.length ? o.groups : undefined, Description: o.description,
      ...(o.prefixes ? { Ipv4PrefixCount: o.count > 0 ? o.count : undefined } : { SecondaryPrivateIpAddressCount: o.count > 0 ? o.count : undefined }),
      TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value })) }],
    })));
    const eniId = c.NetworkInterface!.NetworkInterfaceId!;
    try {
      const a = await this.call((ec2) => ec2.send(new AttachNetworkInterfaceCommand({ InstanceId: o.instanceId, NetworkInterfaceId: eniId, DeviceIndex: o.deviceIndex })));
      await this.call((ec2) => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: a.AttachmentId!, DeleteOnTermination: true } })));
    } catch (err) {
      await this.call((ec2) => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }))).catch(() => undefined);
      throw err;
    }
    const ips = (c.NetworkInterface!.PrivateIpAddresses ?? []).filter((p) => !p.Primary).map((p) => p.PrivateIpAddress!);
    return { eniId, ips, prefixes: (c.NetworkInterface!.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix!) };
  }

  /** Detach, wait for EC2 to finish detaching, delete (ipamd sleeps 2 s; we poll). */
  async deleteEni(eniId: string): Promise<void> {
    const d = await this.call((ec2) => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })));
    const att = d.NetworkInterfaces?.[0]?.Attachment?.AttachmentId;
    if (att) await this.call((ec2) => ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: att })));
    for (let i = 0; i < 30; i++) {
      await this.clock.sleep(1000);
      try {
        await this.call((ec2) => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId })));
        return;
      } catch (err) {
        const name = (err as { name?: string }).name ?? '';
        if (name.endsWith('NotFound')) return;
        if (name !== 'InvalidParameterValue') throw err;
      }
    }
    throw new Error(`ENI ${eniId} did not detach in time`);
  }
}

/** What the resource controller needs of an ENI it created. */
export interface CreatedEni { eniId: string; ip: string; mac: string }

/** The resource controller's trunk and branch calls (RC: pkg/aws/ec2/api/helper.go), over the same SDK. */
export class TrunkEc2 {
  constructor(private readonly ec2: EC2Client, private readonly gate: CallGate = noGate) {}
  private async call<T>(f: (ec2: EC2Client) => Promise<T>): Promise<T> {
    await this.gate();
    return f(this.ec2);
  }

  /** Device indexes in use on the instance and its trunk ENI if it has one (InitTrunk reads the instance's ENIs). */
  async instanceEnis(instanceId: string): Promise<{ deviceIndexes: number[]; trunk?: { eniId: string; status: string } }> {
    const r = await this.call((ec2) => ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] })));
    const enis = r.NetworkInterfaces ?? [];
    const t = enis.find((e) => e.InterfaceType === 'trunk');
    return { deviceIndexes: enis.map((e) => e.Attachment?.DeviceIndex ?? -1), trunk: t ? { eniId: t.NetworkInterfaceId!, status: t.Attachment?.Status ?? '' } : undefined };
  }

  async attachmentStatus(eniId: string): Promise<string | undefined> {
    const r = await this.call((ec2) => ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] })));
    return r.NetworkInterfaces?.[0]?.Attachment?.Status;
  }

  /** CreateNetworkInterface (trunk or plain) with the controller's description and tags. */
  async create(o: { subnetId: string; groups: string[]; trunk: boolean; description: string; tags: Record<string, string> }): Promise<CreatedEni> {
    const r = await this.call((ec2) => ec2.send(new CreateNetworkInterfaceCommand({
      SubnetId: o.subnetId, Groups: o.groups.length ? o.groups : undefined, Description: o.description, InterfaceType: o.trunk ? 'trunk' : undefined,
      TagSpecifications: [{ ResourceType: 'network-interface', Tags: Object.entries(o.tags).map(([Key, Value]) => ({ Key, Value })) }],
    })));
    const n = r.NetworkInterface!;
    return { eniId: n.NetworkInterfaceId!, ip: n.PrivateIpAddress ?? '', mac: n.MacAddress ?? '' };
  }

  /** Attach + DeleteOnTermination (RC: `CreateAndAttachNetworkInterface`). */
  async attach(eniId: string, instanceId: string, deviceIndex: number): Promise<void> {
    const a = await this.call((ec2) => ec2.send(new AttachNetworkInterfaceCommand({ InstanceId: instanceId, NetworkInterfaceId: eniId, DeviceIndex: deviceIndex })));
    await this.call((ec2) => ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Attachment: { AttachmentId: a.AttachmentId!, DeleteOnTermination: true } })));
  }

  async associate(branchId: string, trunkId: string, vlanId: number): Promise<string> {
    const r = await this.call((ec2) => ec2.send(new AssociateTrunkInterfaceCommand({ BranchInterfaceId: branchId, TrunkInterfaceId: trunkId, VlanId: vlanId })));
    return r.InterfaceAssociation?.AssociationId ?? '';
  }

  /** Disassociate (a missing association is fine) then delete (a missing ENI is fine): `DeleteCooledDownENIs`. */
  async disassociateAndDelete(eniId: string, associationId?: string): Promise<void> {
    const notFound = (err: unknown) => ((err as { name?: string }).name ?? '').endsWith('NotFound');
    if (associationId) await this.call((ec2) => ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: associationId }))).catch((err: unknown) => { if (!notFound(err)) throw err; });
    await this.call((ec2) => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }))).catch((err: unknown) => { if (!notFound(err)) throw err; });
  }

  async delete(eniId: string): Promise<void> { await this.disassociateAndDelete(eniId); }
}

