// An HTTP scheduler extender as kube-scheduler calls it: POST <urlPrefix>/<verb> with the
// capitalised extender/v1 JSON (ExtenderArgs, ExtenderBindingArgs), only 200 counts as success, the
// whole exchange bounded by httpTimeout (on the injected Clock), reply keys matched
// case-insensitively like Go's decoder. Connections are kept alive per extender.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Clock } from '../../../lib/clock.ts';
import type { ExtenderConfig } from './config.ts';
import { podResourceNames, type PodLike } from '../../../lib/kube/resources.ts';
import type { HostPriority } from './score.ts';

/** Replies larger than this are refused (a NodeList of thousands of nodes stays well below). */
const MAX_REPLY_BYTES = 64 * 1024 * 1024;

export interface NamedNode { metadata?: { name?: string } | null }

export interface ExtenderFilterOutcome {
  /** Names of the nodes that passed, a subset of the input. */
  passed: string[];
  failed: Record<string, string>;
  failedAndUnresolvable: Record<string, string>;
}

export class ExtenderError extends Error {
  constructor(readonly extender: string, message: string) { super(message); this.name = 'ExtenderError'; }
}

/** Reads a key the way Go's encoding/json does: exact match first, then case-insensitive. */
export function field(obj: unknown, key: string): unknown {
  if (!obj || typeof obj !== 'object') return undefined;
  const o = obj as Record<string, unknown>;
  if (key in o) return o[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (v && typeof v === 'object') for (const [k, s] of Object.entries(v)) out[k] = String(s);
  return out;
}

/** True when the extender cares about the pod (managedResources empty, or the pod names one of them). */
export function isInterested(ext: Pick<ExtenderConfig, 'managedResources'>, pod: PodLike): boolean {
  if (ext.managedResources.length === 0) return true;
  const names = podResourceNames(pod);
  return ext.managedResources.some((r) => names.has(r.name));
}

/**
 * Interprets a filter reply against the nodes sent. nodeCacheCapable → NodeNames (null = none pass;
 * a name not sent is an error); otherwise Nodes.items. A non-empty Error is an error.
 */
export function interpretFilterReply(ext: Pick<ExtenderConfig, 'name' | 'nodeCacheCapable'>, sent: readonly string[], reply: unknown): ExtenderFilterOutcome {
  const err = field(reply, 'Error');
  if (typeof err === 'string' && err !== '') throw new ExtenderError(ext.name, err);
  const sentSet = new Set(sent);
  let passed: string[] = [];
  const names = field(reply, 'NodeNames');
  const nodes = field(reply, 'Nodes');
  if (ext.nodeCacheCapable && Array.isArray(names)) {
    for (const n of names) {
      if (!sentSet.has(String(n))) throw new ExtenderError(ext.name, `extender "${ext.name}" claims a filtered node "${String(n)}" which is not found in the input node list`);
      passed.push(String(n));
    }
  } else if (nodes && typeof nodes === 'object') {
    const items = field(nodes, 'items');
    passed = (Array.isArray(items) ? items : []).map((n) => String((field(field(n, 'metadata'), 'name') ?? '')));
    for (const n of passed) {
      if (!sentSet.has(n)) throw new ExtenderError(ext.name, `extender "${ext.name}" claims a filtered node "${n}" which is not found in the input node list`);
    }
  }
  return { passed, failed: stringMap(field(reply, 'FailedNodes')), failedAndUnresolvable: stringMap(field(reply, 'FailedAndUnresolvableNodes')) };
}

export function interpretPrioritizeReply(reply: unknown): HostPriority[] {
  if (!Array.isArray(reply)) throw new Error('prioritize reply is not a JSON array of {Host, Score}');
  return reply.map((hp) => ({ Host: String(field(hp, 'Host') ?? ''), Score: Number(field(hp, 'Score')) }));
}

export class HttpExtender {
  private readonly agent: http.Agent;
  private readonly base: string;

  constructor(readonly cfg: ExtenderConfig, private readonly clock: Clock) {
    this.base = cfg.urlPrefix.replace(/\/+$/, '');
    const isHttps = this.base.startsWith('https:');
    if (isHttps) {
      const t = cfg.tlsConfig;
      const ca = t.caData ? Buffer.from(t.caData, 'base64') : t.caFile ? fs.readFileSync(t.caFile) : undefined;
      this.agent = new https.Agent({
        keepAlive: true,
        ca,
        cert: t.certData ? Buffer.from(t.certData, 'base64') : t.certFile ? fs.readFileSync(t.certFile) : undefined,
        key: t.keyData ? Buffer.from(t.keyData, 'base64') : t.keyFile ? fs.readFileSync(t.keyFile) : undefined,
        servername: t.serverName || undefined,
        // Upstream: explicit insecure, or HTTPS enabled without a CA, skips verification.
        rejectUnauthorized: !(t.insecure || (cfg.enableHTTPS && !ca)),
      });
    } else {
      this.agent = new http.Agent({ keepAlive: true });
    }
  }

  get name(): string { return this.cfg.name; }
  isInterested(pod: PodLike): boolean { return isInterested(this.cfg, pod); }

  /** Sends the nodes (names or full objects) and returns which passed; throws ExtenderError on failure. */
  async filter(pod: unknown, nodes: readonly NamedNode[]): Promise<ExtenderFilterOutcome> {
    const names = nodes.map((n) => n.metadata?.name ?? '');
    if (!this.cfg.filterVerb) return { passed: names, failed: {}, failedAndUnresolvable: {} };
    const reply = await this.send(this.cfg.filterVerb, this.args(pod, nodes, names));
    return interpretFilterReply(this.cfg, names, reply);
  }

  async prioritize(pod: unknown, nodes: readonly NamedNode[]): Promise<HostPriority[]> {
    if (!this.cfg.prioritizeVerb) return [];
    const names = nodes.map((n) => n.metadata?.name ?? '');
    return interpretPrioritizeReply(await this.send(this.cfg.prioritizeVerb, this.args(pod, nodes, names)));
  }

  /** The extender binds the pod itself (bindVerb); throws on a non-empty Error. */
  async bind(a: { podName: string; podNamespace: string; podUID: string; node: string }): Promise<void> {
    const reply = await this.send(this.cfg.bindVerb, { PodName: a.podName, PodNamespace: a.podNamespace, PodUID: a.podUID, Node: a.node });
    const err = field(reply, 'Error');
    if (typeof err === 'string' && err !== '') throw new ExtenderError(this.name, err);
  }

  close(): void { this.agent.destroy(); }

  private args(pod: unknown, nodes: readonly NamedNode[], names: string[]): object {
    // Both keys are always present, the unused one null (Go pointers without omitempty).
    return this.cfg.nodeCacheCapable
      ? { Pod: pod, Nodes: null, NodeNames: names }
      : { Pod: pod, Nodes: { apiVersion: 'v1', kind: 'NodeList', metadata: {}, items: nodes }, NodeNames: null };
  }

  private send(verb: string, args: object): Promise<unknown> {
    const url = `${this.base}/${verb}`;
    const body = Buffer.from(JSON.stringify(args));
    const mod = url.startsWith('https:') ? https : http;
    const timeoutMs = this.cfg.httpTimeoutMs;
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (err: Error | undefined, v?: unknown) => {
        if (done) return;
        done = true;
        timer.cancel();
        if (err) reject(new ExtenderError(this.name, err.message)); else resolve(v);
      };
      const req = mod.request(url, { method: 'POST', agent: this.agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          finish(new Error(`failed ${verb} with extender at URL ${url}, code ${res.statusCode}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_REPLY_BYTES) { req.destroy(); finish(new Error(`${verb} reply from extender at URL ${url} exceeds ${MAX_REPLY_BYTES} bytes`)); return; }
          chunks.push(c);
        });
        res.on('end', () => {
          try { finish(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8'))); } catch (err) {
            finish(new Error(`${verb} reply from extender at URL ${url} is not valid JSON: ${(err as Error).message}`));
          }
        });
        res.on('error', (err) => finish(err));
      });
      // The timeout covers the whole exchange, body included, like Go's http.Client.Timeout.
      const timer = this.clock.setTimeout(() => {
        finish(new Error(`Post "${url}": timeout after ${timeoutMs}ms (Client.Timeout exceeded)`));
        req.destroy();
      }, timeoutMs);
      req.on('error', (err) => finish(new Error(`Post "${url}": ${err.message}`)));
      req.end(body);
    });
  }
}
