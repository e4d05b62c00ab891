// A node's ENIPool status and host state for the data plane's table tests.
import type { ENIPoolStatus } from '../enipool/types.ts';
import type { HostObserved } from './plan.ts';

export const POD_UID = 'uid-web-0';

export function poolStatus(): ENIPoolStatus {
  return {
    enis: [
      { id: 'eni-0', deviceIndex: 0, subnetID: 'subnet-a', subnetCIDR: '10.0.0.0/24', securityGroups: [], mac: '02:00:00:00:00:10', primaryIP: '10.0.0.10', primary: true },
      { id: 'eni-1', deviceIndex: 1, subnetID: 'subnet-b', subnetCIDR: '10.0.1.0/24', securityGroups: [], mac: '02:00:00:00:00:11', primaryIP: '10.0.1.10' },
    ],
    ips: {
      '10.0.0.20': { eni: 'eni-0', state: 'reserved', pod: { uid: 'uid-a', namespace: 'default', name: 'a' }, since: 't' },
      '10.0.1.20': { eni: 'eni-1', state: 'reserved', pod: { uid: POD_UID, namespace: 'default', name: 'web-0' }, since: 't' },
      '10.0.1.21': { eni: 'eni-1', state: 'free', since: 't' },
    },
    trunkENI: 'eni-t', trunkMAC: '02:00:00:00:00:1f',
    branches: { 'uid-br': { state: 'attached', pod: { uid: 'uid-br', namespace: 'default', name: 'br' }, securityGroups: ['sg-1'], since: 't', eniID: 'eni-br', ip: '10.0.2.30', mac: '02:00:00:00:00:b1', vlanID: 3, subnetCIDR: '10.0.2.0/24' } },
    subnets: [],
  };
}

export const allocation = (ip: string, eni: string, deviceIndex: number, subnetCIDR: string, mac: string) => JSON.stringify({ ip, eni, deviceIndex, subnetCIDR, mac });

/** A host on which eth0/eth1/eth2 carry the pool's ENIs (eth2 is the trunk), nothing configured yet. */
export function bareHost(): HostObserved {
  const link = (ifname: string, address: string) => ({ ifname, address, mtu: 1500, flags: ['BROADCAST', 'UP'], link_type: 'ether' });
  return {
    links: [{ ifname: 'lo', address: '00:00:00:00:00:00', mtu: 65536, flags: ['LOOPBACK', 'UP'] }, link('eth0', '02:00:00:00:00:10'), link('eth1', '02:00:00:00:00:11'), link('eth2', '02:00:00:00:00:1f')],
    addrs: [{ ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.0.10', prefixlen: 24, scope: 'global' }] }, { ifname: 'eth1', addr_info: [{ family: 'inet', local: '10.0.1.99', prefixlen: 24, scope: 'global' }] }],
    rules: [{ priority: 0, table: 'local', protocol: 'kernel' }, { priority: 32766, table: 'main', protocol: 'kernel' }, { priority: 32767, table: 'default', protocol: 'kernel' }],
    routes: [
      { dst: 'default', gateway: '10.0.0.1', dev: 'eth0', table: 'main', protocol: 'dhcp' },
      { dst: '10.0.0.0/24', dev: 'eth0', table: 'main', protocol: 'kernel', scope: 'link' },
      { dst: '10.0.1.0/24', dev: 'eth1', table: 'main', protocol: 'kernel', scope: 'link' },
    ],
  };
}
