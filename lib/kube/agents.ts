// Connections to the API server are kept and reused. client-node 1.4 builds a new http(s).Agent for
// every request (KubeConfig.applySecurityAuthentication), so every API call opened a new connection:
// against a real apiserver a TCP and TLS handshake, with a SecureContext built from the CA, for each
// call (the webhook's one status write per binding among them). Here a request's agent is swapped for
// a pooled keep-alive agent with the same TLS settings. Settings that change (a rotated client
// certificate, a new CA) get a new agent; the old one stops keeping connections.
import http from 'node:http';
import https from 'node:https';
import { createHash } from 'node:crypto';

/** The agent options client-node derives from the kubeconfig (what a connection's identity depends on). */
const TLS_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

function fieldValue(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Buffer.isBuffer(v)) return `b:${v.toString('base64')}`;
  if (typeof v === 'string') return `b:${Buffer.from(v).toString('base64')}`;
  if (Array.isArray(v)) return `a:${JSON.stringify(v.map(fieldValue))}`;
  if (typeof v === 'boolean' || typeof v === 'number') return `v:${String(v)}`;
  return undefined;
}

/**
 * The pool key of an agent client-node made for one request: its protocol and TLS settings (a PEM as
 * a string or a Buffer of the same bytes is the same setting). Undefined for anything but a plain
 * http.Agent or https.Agent (a proxy agent is left as it is), or a setting of a kind it cannot compare.
 */
export function agentKey(agent: { constructor: unknown; options?: Record<string, unknown> } | undefined): string | undefined {
  if (!agent) return undefined;
  const proto = agent.constructor === https.Agent ? 'https' : agent.constructor === http.Agent ? 'http' : undefined;
  if (!proto) return undefined;
  const parts: string[] = [proto];
  for (const f of TLS_FIELDS) {
    const raw = agent.options?.[f];
    if (raw === undefined || raw === null) continue;
    const v = fieldValue(raw);
    if (v === undefined) return undefined;
    parts.push(`${f}=${v}`);
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex');
}

export interface KeepAliveAgentsOptions {
  /** An idle connection is closed after this long (ms); below the apiserver's own idle timeout, so it never closes one under a request. */
  idleMs?: number;
  /** Distinct settings kept at once; the least recently used beyond that stop keeping connections. */
  maxAgents?: number;
}

/** Keep-alive agents by TLS settings, for one API client's requests. */
export class KeepAliveAgents {
  private readonly agents = new Map<string, http.Agent>();
  private readonly idleMs: number;
  private readonly maxAgents: number;

  constructor(o: KeepAliveAgentsOptions = {}) {
    this.idleMs = o.idleMs ?? 30_000;
    this.maxAgents = o.maxAgents ?? 4;
  }

  /** The pooled agent to use instead of `agent` (client-node's per-request one), or `agent` itself when it cannot be pooled. */
  for<A extends http.Agent>(agent: A | undefined): A | http.Agent | undefined {
    const key = agentKey(agent as unknown as Parameters<typeof agentKey>[0]);
    if (!key || !agent) return agent;
    const found = this.agents.get(key);
    if (found) {
      // Most recently used last: the eviction below takes the first.
      this.agents.delete(key);
      this.agents.set(key, found);
      return found;
    }
    const Agent = agent.constructor === https.Agent ? https.Agent : http.Agent;
    // timeout: an idle (free) socket is destroyed after it; a busy one only emits 'timeout', which
    // node-fetch ignores (requests are bounded by TimeoutHttpLibrary's signal).
    const pooled = new Agent({ ...(agent as unknown as { options: Record<string, unknown> }).options, keepAlive: true, scheduling: 'lifo', timeout: this.idleMs });
    this.agents.set(key, pooled);
    for (const [k, old] of this.agents) {
      if (this.agents.size <= this.maxAgents) break;
      this.agents.delete(k);
      retire(old);
    }
    return pooled;
  }

  /** Closes every kept connection (requests in flight finish on theirs). */
  close(): void {
    for (const a of this.agents.values()) retire(a);
    this.agents.clear();
  }
}

/** Stops an agent keeping connections: idle ones close now, busy ones once their response is read. */
function retire(a: http.Agent): void {
  (a as http.Agent & { keepAlive: boolean }).keepAlive = false;
  for (const list of Object.values(a.freeSockets)) for (const s of list ?? []) s.destroy();
}
