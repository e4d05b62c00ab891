// The EC2 actions the simulator speaks: each reads its Query parameters, calls the model, and
// returns the response members (element names as the EC2 wire format and @aws-sdk/client-ec2 use).
import type { LimitsTable } from '../../lib/limits.ts';
import { Ec2Error } from './errors.ts';
import { bool, filters, int, list, paginate, required, str, structList, tagSpecs, tags, wildcardMatch, type Filter, type Params } from './query.ts';
import type { Ec2State } from './state.ts';
import type { SimEni, SimInstance, SimSubnet, SimTrunkAssociation } from './types.ts';
import type { XmlValue } from './xml.ts';

export interface ActionContext { state: Ec2State; region: string }
export type ActionHandler = (ctx: ActionContext, p: Params) => Record<string, XmlValue>;

const iso = (ms: number) => new Date(ms).toISOString();
const tagSet = (t: Record<string, string>): XmlValue[] => Object.entries(t).map(([key, value]) => ({ key, value }));
const ok = { return: true };

/** The Describe* small-bucket rule: no filters, no IDs, no pagination. */
export function isUnfiltered(p: Params): boolean {
  for (const k of p.keys()) {
    if (k === 'MaxResults' || k === 'NextToken' || k.startsWith('Filter.') || k.startsWith('NetworkInterfaceId.') || k.startsWith('InstanceId.')) return false;
  }
  return true;
}

// ---------- filters ----------

type Getter<T> = (t: T) => (string | undefined)[];

function applyFilters<T>(items: T[], fs: Filter[], getters: Record<string, Getter<T>>, tagsOf: (t: T) => Record<string, string>): T[] {
  const preds = fs.map((f) => {
    let get: Getter<T> | undefined = getters[f.name];
    if (f.name === 'tag-key') get = (t) => Object.keys(tagsOf(t));
    else if (f.name === 'tag-value') get = (t) => Object.values(tagsOf(t));
    else if (f.name.startsWith('tag:')) { const k = f.name.slice(4); get = (t) => (k in tagsOf(t) ? [tagsOf(t)[k]] : []); }
    if (!get) throw new Ec2Error('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    if (!f.values.length) throw new Ec2Error('InvalidParameterValue', `The filter '${f.name}' has no values`);
    const g = get;
    return (t: T) => g(t).some((v) => v !== undefined && f.values.some((pat) => wildcardMatch(pat, v)));
  });
  return items.filter((t) => preds.every((p) => p(t)));
}

function maxResults(p: Params, min: number, max: number, idsGiven: boolean, idParam: string): number | undefined {
  const m = int(p, 'MaxResults');
  if (m === undefined) return undefined;
  if (idsGiven) throw new Ec2Error('InvalidParameterCombination', `The parameter ${idParam} cannot be used with the parameter MaxResults`);
  if (m < min || m > max) throw new Ec2Error('InvalidParameterValue', `Value (${m}) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`);
  return m;
}

// ---------- shapes ----------

function eniXml(s: Ec2State, e: SimEni): Record<string, XmlValue> {
  return {
    networkInterfaceId: e.id,
    subnetId: e.subnetId,
    vpcId: e.vpcId,
    availabilityZone: e.zone,
    description: e.description,
    ownerId: s.accountId,
    requesterManaged: e.requesterManaged,
    status: e.status,
    macAddress: e.mac,
    privateIpAddress: e.privateIps.find((x) => x.primary)?.address,
    sourceDestCheck: e.sourceDestCheck,
    interfaceType: e.interfaceType,
    groupSet: e.groups.map((g) => ({ groupId: g, groupName: g })),
    attachment: e.attachment && {
      attachmentId: e.attachment.attachmentId,
      instanceId: e.attachment.instanceId,
      instanceOwnerId: s.accountId,
      deviceIndex: e.attachment.deviceIndex,
      networkCardIndex: e.attachment.networkCardIndex,
      status: e.attachment.status,
      attachTime: iso(e.attachment.attachTime),
      deleteOnTermination: e.attachment.deleteOnTermination,
    },
    privateIpAddressesSet: e.privateIps.map((x) => ({ privateIpAddress: x.address, primary: x.primary })),
    ipv4PrefixSet: e.ipv4Prefixes.map((x) => ({ ipv4Prefix: x })),
    tagSet: tagSet(e.tags),
  };
}

function instanceEniXml(s: Ec2State, e: SimEni): Record<string, XmlValue> {
  const a = e.attachment!;
  return {
    networkInterfaceId: e.id,
    subnetId: e.subnetId,
    vpcId: e.vpcId,
    description: e.description,
    ownerId: s.accountId,
    status: e.status,
    macAddress: e.mac,
    privateIpAddress: e.privateIps.find((x) => x.primary)?.address,
    sourceDestCheck: e.sourceDestCheck,
    interfaceType: e.interfaceType,
    groupSet: e.groups.map((g) => ({ groupId: g, groupName: g })),
    attachment: { attachmentId: a.attachmentId, deviceIndex: a.deviceIndex, networkCardIndex: a.networkCardIndex, status: a.status, attachTime: iso(a.attachTime), deleteOnTermination: a.deleteOnTermination },
    privateIpAddressesSet: e.privateIps.map((x) => ({ privateIpAddress: x.address, primary: x.primary })),
    ipv4PrefixSet: e.ipv4Prefixes.map((x) => ({ ipv4Prefix: x })),
  };
}

const STATE_CODES: Record<SimInstance['state'], number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };
const stateXml = (st: SimInstance['state']) => ({ code: STATE_CODES[st], name: st });

function instanceXml(s: Ec2State, i: SimInstance): Record<string, XmlValue> {
  const lim = s.limits[i.instanceType];
  const live = i.state !== 'terminated';
  return {
    instanceId: i.id,
    imageId: 'ami-0sim0000000000000',
    instanceState: stateXml(i.state),
    privateDnsName: live ? `ip-${i.privateIp.replace(/\./g, '-')}.ec2.internal` : '',
    dnsName: '',
    amiLaunchIndex: 0,
    instanceType: i.instanceType,
    launchTime: iso(i.launchTime),
    placement: { availabilityZone: i.zone, tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: live ? i.subnetId : undefined,
    vpcId: live ? i.vpcId : undefined,
    privateIpAddress: live ? i.privateIp : undefined,
    sourceDestCheck: true,
    groupSet: i.securityGroups.map((g) => ({ groupId: g, groupName: g })),
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    virtualizationType: 'hvm',
    hypervisor: lim?.hypervisor === 'xen' ? 'xen' : 'nitro',
    tagSet: tagSet(i.tags),
    networkInterfaceSet: s.instanceEnis(i.id).map((e) => instanceEniXml(s, e)),
  };
}

function subnetXml(s: Ec2State, sn: SimSubnet, region: string): Record<string, XmlValue> {
  const letter = sn.zone.slice(-1);
  return {
    subnetId: sn.id,
    subnetArn: `arn:aws:ec2:${region}:${s.accountId}:subnet/${sn.id}`,
    state: 'available',
    vpcId: sn.vpcId,
    ownerId: s.accountId,
    cidrBlock: sn.cidr,
    availableIpAddressCount: s.subnetFree(sn.id),
    availabilityZone: sn.zone,
    availabilityZoneId: `${region.replace(/-/g, '').slice(0, 4)}-az${'abcdef'.indexOf(letter) + 1 || 1}`,
    defaultForAz: false,
    mapPublicIpOnLaunch: false,
    tagSet: tagSet(sn.tags),
  };
}

const assocXml = (a: SimTrunkAssociation): Record<string, XmlValue> => ({
  associationId: a.associationId, branchInterfaceId: a.branchInterfaceId, trunkInterfaceId: a.trunkInterfaceId, interfaceProtocol: 'VLAN', vlanId: a.vlanId,
});

function instanceTypeXml(name: string, t: LimitsTable[string]): Record<string, XmlValue> {
  return {
    instanceType: name,
    bareMetal: t.isBareMetal,
    hypervisor: t.hypervisor === 'nitro' || t.hypervisor === 'xen' ? t.hypervisor : undefined,
    networkInfo: {
      maximumNetworkInterfaces: t.maxENIAllCards,
      maximumNetworkCards: t.networkCards.length,
      defaultNetworkCardIndex: t.defaultNetworkCard,
      networkCards: t.networkCards.map((c) => ({ networkCardIndex: c.index, maximumNetworkInterfaces: c.maxENI })),
      ipv4AddressesPerInterface: t.ipv4PerENI,
      ipv6Supported: true,
      enaSupport: t.hypervisor === 'nitro' ? 'required' : 'supported',
    },
  };
}

// ---------- actions ----------

const ENI_FILTERS: Record<string, Getter<SimEni>> = {
  'network-interface-id': (e) => [e.id],
  'attachment.instance-id': (e) => [e.attachment?.instanceId],
  'attachment.attachment-id': (e) => [e.attachment?.attachmentId],
  'attachment.status': (e) => [e.attachment?.status],
  'attachment.device-index': (e) => [e.attachment ? String(e.attachment.deviceIndex) : undefined],
  'attachment.network-card-index': (e) => [e.attachment ? String(e.attachment.networkCardIndex) : undefined],
  'attachment.delete-on-termination': (e) => [e.attachment ? String(e.attachment.deleteOnTermination) : undefined],
  'subnet-id': (e) => [e.subnetId],
  'vpc-id': (e) => [e.vpcId],
  'availability-zone': (e) => [e.zone],
  status: (e) => [e.status],
  'interface-type': (e) => [e.interfaceType],
  description: (e) => [e.description],
  'mac-address': (e) => [e.mac],
  'private-ip-address': (e) => e.privateIps.map((x) => x.address),
  'addresses.private-ip-address': (e) => e.privateIps.map((x) => x.address),
  'addresses.primary': (e) => e.privateIps.map((x) => String(x.primary)),
  'ipv4-prefix': (e) => e.ipv4Prefixes,
  'group-id': (e) => e.groups,
  'requester-managed': (e) => [String(e.requesterManaged)],
  'source-dest-check': (e) => [String(e.sourceDestCheck)],
};

const describeNetworkInterfaces: ActionHandler = ({ state }, p) => {
  const ids = list(p, 'NetworkInterfaceId');
  const max = maxResults(p, 5, 1000, ids.length > 0, 'NetworkInterfaceIds');
  let items = state.allEnis().filter((e) => state.visible(e));
  if (ids.length) {
    const have = new Set(items.map((e) => e.id));
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length) throw new Ec2Error('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${missing.join(', ')}' does not exist`);
    const want = new Set(ids);
    items = items.filter((e) => want.has(e.id));
  }
  items = applyFilters(items, filters(p), ENI_FILTERS, (e) => e.tags);
  const { page, nextToken } = paginate(items, (e) => e.id, max, str(p, 'NextToken'));
  return { networkInterfaceSet: page.map((e) => eniXml(state, e)), nextToken };
};

const INSTANCE_FILTERS: Record<string, Getter<SimInstance>> = {
  'instance-id': (i) => [i.id],
  'instance-state-name': (i) => [i.state],
  'instance-state-code': (i) => [String(STATE_CODES[i.state])],
  'instance-type': (i) => [i.instanceType],
  'subnet-id': (i) => [i.subnetId],
  'vpc-id': (i) => [i.vpcId],
  'availability-zone': (i) => [i.zone],
  'private-ip-address': (i) => [i.privateIp],
  'instance.group-id': (i) => i.securityGroups,
};

const describeInstances: ActionHandler = ({ state }, p) => {
  const ids = list(p, 'InstanceId');
  const max = maxResults(p, 5, 1000, ids.length > 0, 'instancesSet');
  let items = state.allInstances();
  if (ids.length) {
    const have = new Set(items.map((i) => i.id));
    const missing = ids.filter((id) => !have.has(id));
    if (missing.length) throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID '${missing.join(', ')}' does not exist`);
    const want = new Set(ids);
    items = items.filter((i) => want.has(i.id));
  }
  const getters: Record<string, Getter<SimInstance>> = {
    ...INSTANCE_FILTERS,
    'network-interface.network-interface-id': (i) => state.instanceEnis(i.id).map((e) => e.id),
    'network-interface.subnet-id': (i) => state.instanceEnis(i.id).map((e) => e.subnetId),
  };
  items = applyFilters(items, filters(p), getters, (i) => i.tags);
  const { page, nextToken } = paginate(items, (i) => i.id, max, str(p, 'NextToken'));
  const byRes = new Map<string, SimInstance[]>();
  for (const i of page) {
    const r = (i as SimInstance & { reservationId: string }).reservationId;
    byRes.set(r, [...(byRes.get(r) ?? []), i]);
  }
  return {
    reservationSet: [...byRes.entries()].map(([r, insts]) => ({ reservationId: r, ownerId: state.accountId, groupSet: [], instancesSet: insts.map((i) => instanceXml(state, i)) })),
    nextToken,
  };
};

const describeInstanceTypes: ActionHandler = ({ state }, p) => {
  const types = list(p, 'InstanceType');
  const m = int(p, 'MaxResults');
  if (m !== undefined && types.length) throw new Ec2Error('InvalidParameterCombination', 'The parameter InstanceType cannot be used with the parameter MaxResults');
  if (m !== undefined && (m < 5 || m > 100)) throw new Ec2Error('InvalidParameterValue', `Value (${m}) for parameter maxResults is invalid. Expecting a value between 5 and 100.`);
  const missing = types.filter((t) => !state.limits[t]);
  if (missing.length) throw new Ec2Error('InvalidInstanceType', `The following supplied instance types do not exist: [${missing.join(', ')}]`);
  let names = types.length ? [...new Set(types)] : Object.keys(state.limits);
  names = applyFilters(names, filters(p), {
    'instance-type': (n) => [n],
    hypervisor: (n) => [state.limits[n]!.hypervisor ?? undefined],
    'bare-metal': (n) => [String(state.limits[n]!.isBareMetal)],
    'network-info.maximum-network-interfaces': (n) => [String(state.limits[n]!.maxENIAllCards)],
    'network-info.ipv4-addresses-per-interface': (n) => [String(state.limits[n]!.ipv4PerENI)],
  }, () => ({}));
  // EC2 pages instance types even without MaxResults.
  const { page, nextToken } = paginate(names, (n) => n, types.length ? undefined : (m ?? 100), str(p, 'NextToken'));
  return { instanceTypeSet: page.map((n) => instanceTypeXml(n, state.limits[n]!)), nextToken };
};

const describeSubnets: ActionHandler = ({ state, region }, p) => {
  const ids = list(p, 'SubnetId');
  const max = maxResults(p, 5, 1000, ids.length > 0, 'SubnetIds');
  let items = state.allSubnets();
  if (ids.length) {
    for (const id of ids) state.subnet(id);
    const want = new Set(ids);
    items = items.filter((s) => want.has(s.id));
  }
  items = applyFilters(items, filters(p), {
    'subnet-id': (s) => [s.id],
    'vpc-id': (s) => [s.vpcId],
    'availability-zone': (s) => [s.zone],
    availabilityZone: (s) => [s.zone],
    'cidr-block': (s) => [s.cidr],
    cidr: (s) => [s.cidr],
    cidrBlock: (s) => [s.cidr],
    state: () => ['available'],
    'available-ip-address-count': (s) => [String(state.subnetFree(s.id))],
  }, (s) => s.tags);
  const { page, nextToken } = paginate(items, (s) => s.id, max, str(p, 'NextToken'));
  return { subnetSet: page.map((s) => subnetXml(state, s, region)), nextToken };
};

function securityGroupIds(p: Params): string[] | undefined {
  const g = list(p, 'SecurityGroupId');
  return g.length ? g : undefined;
}

const createNetworkInterface: ActionHandler = ({ state }, p) => {
  const privateIpAddresses = structList(p, 'PrivateIpAddresses').map((g) => ({ address: required(g, 'PrivateIpAddress'), primary: bool(g, 'Primary') ?? false }));
  const clientToken = str(p, 'ClientToken');
  const e = state.createNetworkInterface({
    subnetId: required(p, 'SubnetId'),
    description: str(p, 'Description'),
    groups: securityGroupIds(p),
    privateIpAddress: str(p, 'PrivateIpAddress'),
    privateIpAddresses: privateIpAddresses.length ? privateIpAddresses : undefined,
    secondaryCount: int(p, 'SecondaryPrivateIpAddressCount'),
    ipv4PrefixCount: int(p, 'Ipv4PrefixCount'),
    ipv4Prefixes: structList(p, 'Ipv4Prefix').map((g) => required(g, 'Ipv4Prefix')),
    interfaceType: str(p, 'InterfaceType'),
    tags: tagSpecs(p, 'network-interface'),
    clientToken,
  });
  return { networkInterface: eniXml(state, e), clientToken };
};

const attachNetworkInterface: ActionHandler = ({ state }, p) => {
  const a = state.attachNetworkInterface({
    eniId: required(p, 'NetworkInterfaceId'),
    instanceId: required(p, 'InstanceId'),
    deviceIndex: int(p, 'DeviceIndex', { min: 0 }) ?? (() => { throw new Ec2Error('MissingParameter', 'The request must contain the parameter DeviceIndex'); })(),
    networkCardIndex: int(p, 'NetworkCardIndex', { min: 0 }),
  });
  return { attachmentId: a.attachmentId, networkCardIndex: a.networkCardIndex };
};

const detachNetworkInterface: ActionHandler = ({ state }, p) => {
  state.detachNetworkInterface(required(p, 'AttachmentId'), bool(p, 'Force') ?? false);
  return ok;
};

const deleteNetworkInterface: ActionHandler = ({ state }, p) => {
  state.deleteNetworkInterface(required(p, 'NetworkInterfaceId'));
  return ok;
};

const modifyNetworkInterfaceAttribute: ActionHandler = ({ state }, p) => {
  state.modifyNetworkInterfaceAttribute(required(p, 'NetworkInterfaceId'), {
    attachmentId: str(p, 'Attachment.AttachmentId'),
    deleteOnTermination: bool(p, 'Attachment.DeleteOnTermination'),
    groups: securityGroupIds(p),
    description: str(p, 'Description.Value'),
    sourceDestCheck: bool(p, 'SourceDestCheck.Value'),
  });
  return ok;
};

const assignPrivateIpAddresses: ActionHandler = ({ state }, p) => {
  const id = required(p, 'NetworkInterfaceId');
  const r = state.assignPrivateIpAddresses(id, {
    secondaryCount: int(p, 'SecondaryPrivateIpAddressCount'),
    addresses: list(p, 'PrivateIpAddress'),
    prefixCount: int(p, 'Ipv4PrefixCount'),
    prefixes: list(p, 'Ipv4Prefix'),
  });
  return {
    networkInterfaceId: id,
    assignedPrivateIpAddressesSet: r.addresses.map((privateIpAddress) => ({ privateIpAddress })),
    assignedIpv4PrefixSet: r.prefixes.map((ipv4Prefix) => ({ ipv4Prefix })),
  };
};

const unassignPrivateIpAddresses: ActionHandler = ({ state }, p) => {
  state.unassignPrivateIpAddresses(required(p, 'NetworkInterfaceId'), { addresses: list(p, 'PrivateIpAddress'), prefixes: list(p, 'Ipv4Prefix') });
  return ok;
};

function resourceIds(p: Params): string[] {
  const r = list(p, 'ResourceId');
  if (!r.length) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ResourceId.1');
  return r;
}

const createTags: ActionHandler = ({ state }, p) => {
  const ids = resourceIds(p);
  const t = tags(p, 'Tag');
  if (!t.length) throw new Ec2Error('MissingParameter', 'The request must contain the parameter Tag.1.Key');
  state.createTags(ids, t);
  return ok;
};

const deleteTags: ActionHandler = ({ state }, p) => {
  state.deleteTags(resourceIds(p), tags(p, 'Tag'));
  return ok;
};

const associateTrunkInterface: ActionHandler = ({ state }, p) => {
  const a = state.associateTrunkInterface({
    branchId: required(p, 'BranchInterfaceId'),
    trunkId: required(p, 'TrunkInterfaceId'),
    vlanId: int(p, 'VlanId'),
    greKey: int(p, 'GreKey'),
  });
  return { interfaceAssociation: assocXml(a), clientToken: str(p, 'ClientToken') };
};

const disassociateTrunkInterface: ActionHandler = ({ state }, p) => {
  state.disassociateTrunkInterface(required(p, 'AssociationId'));
  return { return: true, clientToken: str(p, 'ClientToken') };
};

const describeTrunkInterfaceAssociations: ActionHandler = ({ state }, p) => {
  const ids = list(p, 'AssociationId');
  const max = maxResults(p, 5, 255, ids.length > 0, 'AssociationIds');
  let items = state.allAssociations();
  if (ids.length) { const want = new Set(ids); items = items.filter((a) => want.has(a.associationId)); }
  items = applyFilters(items, filters(p), {
    'trunk-interface-association.id': (a) => [a.associationId],
    'trunk-interface-association.trunk-interface-id': (a) => [a.trunkInterfaceId],
    'trunk-interface-association.branch-interface-id': (a) => [a.branchInterfaceId],
    'trunk-interface-id': (a) => [a.trunkInterfaceId],
    'branch-interface-id': (a) => [a.branchInterfaceId],
    'vlan-id': (a) => [String(a.vlanId)],
  }, () => ({}));
  const { page, nextToken } = paginate(items, (a) => a.associationId, max, str(p, 'NextToken'));
  return { interfaceAssociationSet: page.map(assocXml), nextToken };
};

const runInstances: ActionHandler = ({ state }, p) => {
  const instanceType = required(p, 'InstanceType');
  const subnetId = required(p, 'SubnetId');
  const min = int(p, 'MinCount', { min: 1, max: 1000 }) ?? (() => { throw new Ec2Error('MissingParameter', 'The request must contain the parameter MinCount'); })();
  const maxCount = int(p, 'MaxCount', { min: 1, max: 1000 }) ?? (() => { throw new Ec2Error('MissingParameter', 'The request must contain the parameter MaxCount'); })();
  if (min > maxCount) throw new Ec2Error('InvalidParameterValue', `MinCount (${min}) must not exceed MaxCount (${maxCount})`);
  const groups = securityGroupIds(p);
  const specs = structList(p, 'TagSpecification');
  const instTags: Record<string, string> = {};
  for (const g of specs) if ((g.get('ResourceType') ?? 'instance') === 'instance') for (const t of tags(g, 'Tag')) instTags[t.key] = t.value ?? '';
  if (!state.limits[instanceType]) throw new Ec2Error('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);
  const free = state.subnetFree(subnetId);
  if (free < min) throw new Ec2Error('InsufficientFreeAddressesInSubnet', `Subnet ${subnetId} has ${free} free addresses; MinCount ${min} needs ${min}`);
  const n = Math.min(maxCount, free);
  let reservationId: string | undefined;
  const ids: string[] = [];
  for (let k = 0; k < n; k++) {
    const r = state.runInstance({ instanceType, subnetId, securityGroups: groups, tags: instTags, reservationId });
    reservationId = r.reservationId;
    ids.push(r.instanceId);
  }
  const insts = state.allInstances().filter((i) => ids.includes(i.id));
  return { reservationId, ownerId: state.accountId, groupSet: [], instancesSet: insts.map((i) => instanceXml(state, i)) };
};

const terminateInstances: ActionHandler = ({ state }, p) => {
  const ids = list(p, 'InstanceId');
  if (!ids.length) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId.1');
  for (const id of ids) state.liveInstance(id);
  return {
    instancesSet: ids.map((id) => {
      const r = state.terminateInstance(id);
      return { instanceId: id, currentState: stateXml(r.current), previousState: stateXml(r.previous) };
    }),
  };
};

export const ACTIONS: Readonly<Record<string, ActionHandler>> = {
  DescribeInstances: describeInstances,
  DescribeInstanceTypes: describeInstanceTypes,
  DescribeSubnets: describeSubnets,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  CreateNetworkInterface: createNetworkInterface,
  AttachNetworkInterface: attachNetworkInterface,
  DetachNetworkInterface: detachNetworkInterface,
  DeleteNetworkInterface: deleteNetworkInterface,
  ModifyNetworkInterfaceAttribute: modifyNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: unassignPrivateIpAddresses,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  AssociateTrunkInterface: associateTrunkInterface,
  DisassociateTrunkInterface: disassociateTrunkInterface,
  DescribeTrunkInterfaceAssociations: describeTrunkInterfaceAssociations,
  RunInstances: runInstances,
  TerminateInstances: terminateInstances,
};
