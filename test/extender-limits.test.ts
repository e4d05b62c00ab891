// Issue 11: the extender's body limit comes from a measured maximum, and its memory stays bounded
// when several maximum-size requests arrive at once. The maximum: kube-scheduler in full-node mode
// (nodeCacheCapable: false) sends every candidate Node object; 5,000 nodes is the documented
// cluster-size limit. Each node is shaped like an EKS worker's as kubelet reports it (50 images,
// kubelet's nodeStatusMaxImages default; labels, annotations, conditions, addresses, attached volumes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { realClock } from '../lib/clock.ts';
import { crdManifests } from '../lib/enipool/crds.ts';
import { startKubeSim, type KubeSim } from '../sim/kube/index.ts';
import { DEFAULT_BODY_LIMIT, parseSize } from '../extender/server.ts';

const NODES = 5_000;
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0').slice(-len);

/** One Node as kube-scheduler's informer holds it on a busy EKS cluster (no managedFields). */
export function realisticNode(i: number): object {
  const name = `ip-10-${(i >> 8) & 255}-${i & 255}-${(i * 7) & 255}.eu-west-1.compute.internal`;
  const zone = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'][i % 3]!;
  const labels: Record<string, string> = {
    'beta.kubernetes.io/arch': 'amd64', 'beta.kubernetes.io/instance-type': 'm6i.4xlarge', 'beta.kubernetes.io/os': 'linux',
    'eks.amazonaws.com/capacityType': 'ON_DEMAND', 'eks.amazonaws.com/nodegroup': 'general-purpose-2024-06-01',
    'eks.amazonaws.com/nodegroup-image': 'ami-0123456789abcdef0', 'eks.amazonaws.com/sourceLaunchTemplateId': 'lt-0123456789abcdef0',
    'eks.amazonaws.com/sourceLaunchTemplateVersion': '7', 'failure-domain.beta.kubernetes.io/region': 'eu-west-1',
    'failure-domain.beta.kubernetes.io/zone': zone, 'k8s.io/cloud-provider-aws': 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
    'kubernetes.io/arch': 'amd64', 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux',
    'node.kubernetes.io/instance-type': 'm6i.4xlarge', 'topology.ebs.csi.aws.com/zone': zone, 'topology.kubernetes.io/region': 'eu-west-1',
    'topology.kubernetes.io/zone': zone, 'team.example.com/owner': 'platform', 'team.example.com/cost-center': 'cc-1234',
    'karpenter.sh/capacity-type': 'on-demand', 'karpenter.sh/nodepool': 'default', 'karpenter.k8s.aws/instance-family': 'm6i',
    'karpenter.k8s.aws/instance-size': '4xlarge', 'karpenter.k8s.aws/instance-cpu': '16', 'karpenter.k8s.aws/instance-memory': '65536',
    'karpenter.k8s.aws/instance-generation': '6', 'karpenter.k8s.aws/instance-hypervisor': 'nitro', 'eni-ipam.io/managed': 'true', 'node-role.example.com/worker': '',
  };
  const images = Array.from({ length: 50 }, (_, k) => {
    const repo = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team-${k % 17}/service-${(i + k) % 97}`;
    return { names: [`${repo}@sha256:${hex(i * 131 + k, 64)}`, `${repo}:v1.${k}.${i % 50}`], sizeBytes: 50_000_000 + k * 1_234_567 };
  });
  const t = '2026-11-29T12:00:00Z';
  const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, lastHeartbeatTime: t, lastTransitionTime: t, reason, message });
  const volumes = Array.from({ length: 20 }, (_, k) => ({ name: `kubernetes.io/csi/ebs.csi.aws.com^vol-${hex(i * 20 + k, 17)}`, devicePath: '' }));
  return {
    metadata: {
      name, uid: `${hex(i, 8)}-1111-4222-8333-${hex(i, 12)}`, resourceVersion: String(1_000_000 + i), creationTimestamp: t, labels,
      annotations: {
        'alpha.kubernetes.io/provided-node-ip': `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`,
        'csi.volume.kubernetes.io/nodeid': `{"ebs.csi.aws.com":"i-${hex(i, 17)}","efs.csi.aws.com":"i-${hex(i, 17)}"}`,
        'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
        'karpenter.k8s.aws/ec2nodeclass-hash': '1234567890123456789', 'karpenter.sh/nodepool-hash': '9876543210987654321',
      },
    },
    spec: { providerID: `aws:///${zone}/i-${hex(i, 17)}`, taints: [{ key: 'team.example.com/dedicated', value: 'general', effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '16', 'ephemeral-storage': '104845292Ki', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '64761732Ki', pods: '234', 'vpc.amazonaws.com/pod-eni': '54' },
      allocatable: { cpu: '15890m', 'ephemeral-storage': '95551679124', 'hugepages-1Gi': '0', 'hugepages-2Mi': '0', memory: '63746948Ki', pods: '234', 'vpc.amazonaws.com/pod-eni': '54' },
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}` }, { type: 'InternalDNS', address: name },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: hex(i, 32), systemUUID: `ec2${hex(i, 5)}-1234-5678-9abc-def012345678`, bootID: `${hex(i, 8)}-aaaa-bbbb-cccc-${hex(i, 12)}`,
        kernelVersion: '6.1.112-124.190.amzn2023.x86_64', osImage: 'Amazon Linux 2023.6.20241111', containerRuntimeVersion: 'containerd://1.7.23',
        kubeletVersion: 'v1.31.2-eks-94953ac', kubeProxyVersion: 'v1.31.2-eks-94953ac', operatingSystem: 'linux', architecture: 'amd64',
      },
      images,
      volumesInUse: volumes.map((v) => v.name),
      volumesAttached: volumes,
    },
  };
}

/** The full-node ExtenderArgs for 5,000 nodes, as kube-scheduler would send it. */
export function maxFullNodeArgs(): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < NODES; i++) parts.push(JSON.stringify(realisticNode(i)));
  const pod = { metadata: { name: 'web-1', namespace: 'default', uid: 'u1', annotations: {} }, spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m' } } }] } };
  return Buffer.from(`{"Pod":${JSON.stringify(pod)},"Nodes":{"metadata":{},"items":[${parts.join(',')}]},"NodeNames":null}`);
}

let body: Buffer;
let sim: KubeSim;
let child: ChildProcess | undefined;
before(async () => { body = maxFullNodeArgs(); });
after(async () => { child?.kill('SIGTERM'); await sim?.close(); });

test('the default body limit fits the measured maximum (5,000 full Nodes) with less than 40 % headroom', () => {
  const limit = parseSize(DEFAULT_BODY_LIMIT);
  console.log(`# full-node ExtenderArgs for ${NODES} nodes: ${(body.length / 2 ** 20).toFixed(1)} MiB (${Math.round(body.length / NODES)} bytes/node); limit ${DEFAULT_BODY_LIMIT}`);
  assert.ok(body.length <= limit, `${body.length} > ${limit}`);
  assert.ok(limit <= body.length * 1.4, `limit ${limit} is far above the measured ${body.length}`);
});

function post(url: string, payload: Buffer): Promise<{ status: number; bytes: number; items: number }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = http.request({ method: 'POST', hostname: u.hostname, port: u.port, path: u.pathname, headers: { 'content-type': 'application/json', 'content-length': payload.length }, agent: false }, (res) => {
      let bytes = 0; let items = 0;
      let carry = Buffer.alloc(0);
      const needle = '"uid":"';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        // Count passing nodes by their uid field, which each realistic node has once; the carried
        // tail catches a match split across chunks.
        const b = Buffer.concat([carry, c]);
        for (let i = b.indexOf(needle); i >= 0; i = b.indexOf(needle, i + 1)) items++;
        carry = b.subarray(Math.max(0, b.length - (needle.length - 1)));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, items }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Peak resident set of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

test('4 concurrent maximum-size requests: all answered in full, extender peak RSS below 400 MB', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async () => {
  sim = await startKubeSim({ clock: realClock() });
  for (const crd of crdManifests()) await sim.store.create('customresourcedefinitions.apiextensions.k8s.io', crd, { admit: false });
  const repo = join(import.meta.dirname, '..');
  // The heap cap the chart gives the extender (NODE_OPTIONS in templates/extender.yaml): V8 collects
  // before growing past it instead of whenever it likes, so the peak reflects what the extender needs.
  child = spawn(process.execPath, ['--max-old-space-size=256', join(repo, 'bin/eni-ipam.js'), 'extender', '--host', '127.0.0.1', '--port', '0', '--server', sim.url, '--prefix', '/scheduler'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`extender did not start: ${out}`)), 60_000);
    const seen = (c: Buffer) => {
      out += c.toString();
      const m = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out);
      if (m) { clearTimeout(t); resolve(m[1]!); }
    };
    child!.stdout!.on('data', seen);
    child!.stderr!.on('data', seen);
    child!.on('exit', (code) => reject(new Error(`extender exited ${code}: ${out}`)));
  });
  for (let i = 0; i < 200 && (await fetch(`${url}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 50));
  const before = peakRss(child.pid!);
  const t0 = Date.now();
  const results = await Promise.all(Array.from({ length: 4 }, () => post(`${url}/scheduler/filter`, body)));
  const peak = peakRss(child.pid!);
  console.log(`# 4 x ${(body.length / 2 ** 20).toFixed(1)} MiB filter requests in ${Date.now() - t0} ms; extender RSS before ${(before / 2 ** 20).toFixed(0)} MiB, peak ${(peak / 2 ** 20).toFixed(0)} MiB`);
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.items, NODES, 'every node passes (no ENIPools, no-pool policy pass) and comes back whole');
  }
  assert.ok(peak < 400 * 2 ** 20, `peak RSS ${peak}`);
});
