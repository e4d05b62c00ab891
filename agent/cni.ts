// Answers one CNI invocation forwarded by the plugin shim: ADD, DEL, CHECK, GC, STATUS, VERSION.
// Decisions come from lib/cni (spec, pod); this module orders them with the host reads and writes.
// Every answer is what the shim prints: a result or error JSON, and its exit code.
import type { ENIPoolStatus } from '../lib/enipool/types.ts';
import type { Logger } from '../lib/log.ts';
import { ANN_ALLOCATION, ANN_POD_ENI } from '../lib/keys.ts';
import { POD_GATEWAY, hostVethName, type DataplaneConfig } from '../lib/cni/plan.ts';
import { checkPod, decidePod, setupSteps, teardownSteps, type Attachment, type PodIdentity, type PodPlan } from '../lib/cni/pod.ts';
import {
  CniError, ERR, errorJSON, formatResult, parseRequest, podAnnotationsOf, replyVersion, validAttachments, versionInfo, type CniRequest, type RawRequest,
} from '../lib/cni/spec.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { Exec } from './exec.ts';

export interface Reply { exitCode: number; stdout: string }

export interface CniDeps {
  exec: Exec;
  cfg: DataplaneConfig;
  checkpoint: Checkpoint;
  pool(): ENIPoolStatus | undefined;
  /** The pod's annotations from the agent's cache (the fallback when the runtime passed none). */
  podAnnotations(namespace: string, name: string): Record<string, string> | undefined;
  readiness(): { ready: boolean; reason: string };
  linkByMac(mac: string): string | undefined;
  /** Runs host mutations one at a time (ADD/DEL/GC and the host reconcile share the node's tables). */
  serialize<T>(fn: () => Promise<T>): Promise<T>;
  logger: Logger;
}

function identity(req: CniRequest): PodIdentity {
  const namespace = req.args.K8S_POD_NAMESPACE;
  const name = req.args.K8S_POD_NAME;
  if (!namespace || !name) throw new CniError(ERR.invalidEnv, `CNI_ARGS lacks K8S_POD_NAMESPACE/K8S_POD_NAME (container ${req.containerID}); eni-ipam serves Kubernetes pods only`);
  return { namespace, name, uid: req.args.K8S_POD_UID || undefined, containerID: req.containerID };
}

/** The runtime's copy of the pod annotations when it carries ours, else the agent's pod cache. */
function annotationsFor(req: CniRequest, p: PodIdentity, deps: CniDeps): Record<string, string> | undefined {
  const fromRuntime = podAnnotationsOf(req.conf);
  if (fromRuntime && (fromRuntime[ANN_ALLOCATION] || fromRuntime[ANN_POD_ENI])) return fromRuntime;
  return deps.podAnnotations(p.namespace, p.name) ?? fromRuntime;
}

function plan(req: CniRequest, deps: CniDeps): PodPlan {
  const p = identity(req);
  return decidePod(p, annotationsFor(req, p, deps), deps.pool(), deps.cfg);
}

function trunkLinkFor(plan: PodPlan, deps: CniDeps): string | undefined {
  return plan.branch ? deps.linkByMac(plan.branch.trunkMac) : undefined;
}

async function add(req: CniRequest, deps: CniDeps): Promise<string> {
  const r = deps.readiness();
  if (!r.ready) throw new CniError(ERR.tryAgainLater, `node data plane not ready: ${r.reason}`);
  const pl = plan(req, deps);
  if (pl.eniMac && !deps.linkByMac(pl.eniMac)) throw new CniError(ERR.tryAgainLater, `pod ${pl.pod.namespace}/${pl.pod.name}: ENI ${pl.eniId} (${pl.eniMac}) is not configured on this node yet`);
  const steps = setupSteps(pl, req.netns, req.ifname, trunkLinkFor(pl, deps));
  const t0 = performance.now();
  let applyMs = 0;
  await deps.serialize(async () => {
    const t1 = performance.now();
    try {
      await deps.exec.apply(steps, req.netns);
    } catch (err) {
      // Leave nothing half-made: the runtime will DEL anyway, but the next ADD must start clean.
      await teardown({ ip: pl.ip, hostVeth: pl.hostVeth, vlanLink: pl.branch?.link }, deps).catch(() => undefined);
      throw new CniError(ERR.dataplane, `pod ${pl.pod.namespace}/${pl.pod.name}: setting up ${pl.ip} failed: ${(err as Error).message}`);
    }
    applyMs = performance.now() - t1;
    deps.checkpoint.put({
      containerID: req.containerID, ifname: req.ifname, namespace: pl.pod.namespace, name: pl.pod.name, uid: pl.pod.uid,
      netns: req.netns, ip: pl.ip, hostVeth: pl.hostVeth, ...(pl.branch ? { vlanLink: pl.branch.link } : {}),
    });
  });
  deps.logger.info({ pod: `${pl.pod.namespace}/${pl.pod.name}`, ip: pl.ip, eni: pl.eniId, veth: pl.hostVeth, container: req.containerID, ms: Math.round(performance.now() - t0), applyMs: Math.round(applyMs) }, 'pod network added');
  return JSON.stringify(formatResult({
    interfaces: [{ name: pl.hostVeth, mac: pl.hostMac, mtu: pl.mtu }, { name: req.ifname, mac: pl.podMac, mtu: pl.mtu, sandbox: req.netns }],
    ips: [{ address: `${pl.ip}/32`, gateway: POD_GATEWAY, interface: 1 }],
    routes: [{ dst: '0.0.0.0/0', gw: POD_GATEWAY }],
    dns: {},
  }, req.version));
}

async function teardown(a: Attachment, deps: CniDeps): Promise<void> {
  const obs = await deps.exec.readHost();
  await deps.exec.apply(teardownSteps(a, obs));
}

/** DEL's knowledge of the attachment: checkpoint, else the cached ADD result, else the annotations. */
function attachmentFor(req: CniRequest, deps: CniDeps): Attachment | undefined {
  const c = deps.checkpoint.get(req.containerID, req.ifname);
  if (c) return { ip: c.ip, hostVeth: c.hostVeth, vlanLink: c.vlanLink };
  const ns = req.args.K8S_POD_NAMESPACE;
  const name = req.args.K8S_POD_NAME;
  const prev = req.conf.prevResult;
  const prevIp = prev?.ips?.[0]?.address?.split('/')[0];
  const prevVeth = prev?.interfaces?.find((i) => !i.sandbox)?.name;
  if (prevIp && prevVeth) return { ip: prevIp, hostVeth: prevVeth };
  if (!ns || !name) return undefined;
  try {
    const pl = decidePod({ namespace: ns, name, containerID: req.containerID }, annotationsFor(req, { namespace: ns, name, containerID: req.containerID }, deps), deps.pool(), deps.cfg);
    return { ip: pl.ip, hostVeth: pl.hostVeth, vlanLink: pl.branch?.link };
  } catch {
    // No usable annotation: still remove the veth this pod's name maps to (its rules name the IP we do not know).
    return { hostVeth: prevVeth ?? hostVethName(deps.cfg.vethPrefix, ns, name) };
  }
}

async function del(req: CniRequest, deps: CniDeps): Promise<string> {
  const a = attachmentFor(req, deps);
  await deps.serialize(async () => {
    if (a) await teardown(a, deps);
    deps.checkpoint.remove(req.containerID, req.ifname);
  });
  deps.logger.info({ container: req.containerID, ip: a?.ip, veth: a?.hostVeth }, 'pod network deleted');
  return '';
}

async function check(req: CniRequest, deps: CniDeps): Promise<string> {
  const pl = plan(req, deps);
  const [host, pod] = await Promise.all([deps.exec.readHost(), deps.exec.readPod(req.netns)]);
  const bad = checkPod(pl, req.ifname, host, pod);
  if (bad.length) throw new CniError(ERR.checkFailed, `pod ${pl.pod.namespace}/${pl.pod.name} (${pl.ip}): ${bad.join('; ')}`);
  return '';
}

async function gc(req: CniRequest, deps: CniDeps): Promise<string> {
  const valid = validAttachments(req.conf);
  if (!valid) throw new CniError(ERR.invalidConfig, 'GC needs cni.dev/valid-attachments in the config');
  const keep = new Set(valid.map((v) => `${v.containerID}/${v.ifname}`));
  const errors: string[] = [];
  for (const e of deps.checkpoint.all()) {
    if (keep.has(`${e.containerID}/${e.ifname}`)) continue;
    // Continue past failures (spec: GC should keep going) and report them together.
    try {
      await deps.serialize(async () => { await teardown({ ip: e.ip, hostVeth: e.hostVeth, vlanLink: e.vlanLink }, deps); deps.checkpoint.remove(e.containerID, e.ifname); });
      deps.logger.info({ pod: `${e.namespace}/${e.name}`, ip: e.ip, container: e.containerID }, 'stale attachment collected');
    } catch (err) { errors.push(`${e.namespace}/${e.name} (${e.containerID}): ${(err as Error).message}`); }
  }
  if (errors.length) throw new CniError(ERR.dataplane, `GC could not remove: ${errors.join('; ')}`);
  return '';
}

/** Handles one forwarded invocation; never throws. */
export async function handleCni(raw: RawRequest, deps: CniDeps): Promise<Reply> {
  const version = replyVersion(raw);
  try {
    const req = parseRequest(raw);
    switch (req.command) {
      case 'VERSION': return { exitCode: 0, stdout: JSON.stringify(versionInfo(req.version)) };
      case 'ADD': return { exitCode: 0, stdout: await add(req, deps) };
      case 'DEL': return { exitCode: 0, stdout: await del(req, deps) };
      case 'CHECK': return { exitCode: 0, stdout: await check(req, deps) };
      case 'GC': return { exitCode: 0, stdout: await gc(req, deps) };
      case 'STATUS': {
        const r = deps.readiness();
        if (!r.ready) throw new CniError(ERR.notReady, `eni-ipam agent cannot serve ADD: ${r.reason}`);
        return { exitCode: 0, stdout: '' };
      }
    }
  } catch (err) {
    if (!(err instanceof CniError)) deps.logger.error({ err: (err as Error).message, command: raw.env.CNI_COMMAND, container: raw.env.CNI_CONTAINERID }, 'CNI request failed');
    else deps.logger.warn({ code: err.code, msg: err.message, command: raw.env.CNI_COMMAND, container: raw.env.CNI_CONTAINERID }, 'CNI request refused');
    return { exitCode: 1, stdout: JSON.stringify(errorJSON(err, version)) };
  }
}
