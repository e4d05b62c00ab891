// HTTP front of the EC2 simulator: Query-protocol requests in, XML out. Order per request mirrors
// EC2: parse → action known? → throttle bucket → injected fault → DryRun → the action itself.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../../lib/log.ts';
import { loadLimitsTable } from '../../lib/limits.ts';
import { ACTIONS, isUnfiltered } from './actions.ts';
import { handleAdmin } from './admin-http.ts';
import { Ec2Error, statusForCode } from './errors.ts';
import { FaultInjector, seededRng } from './faults.ts';
import { callLatencyMs } from './latency.ts';
import { bool, parseForm } from './query.ts';
import { Ec2State } from './state.ts';
import { Throttler } from './throttle.ts';
import type { CallStat, Ec2Sim, Ec2SimAdmin, Ec2SimOptions } from './types.ts';
import { errorXml, successXml } from './xml.ts';

export const DEFAULT_MAX_BODY = 1024 * 1024;
const API_VERSION = '2016-11-15';

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, cap: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > cap) { done = true; reject(new BodyTooLarge()); req.resume(); return; }
      chunks.push(c);
    });
    req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks).toString('utf8')); } });
    req.on('error', (e) => { if (!done) { done = true; reject(e); } });
  });
}

/** The simulator core, usable without a socket (the server wraps it). */
export class Ec2SimCore {
  readonly state: Ec2State;
  readonly throttler: Throttler;
  readonly faults: FaultInjector;
  private stats = new Map<string, CallStat>();

  constructor(readonly opts: Ec2SimOptions) {
    this.state = new Ec2State({
      clock: opts.clock, limits: opts.limits ?? loadLimitsTable(), accountId: opts.accountId,
      attachLatencyMs: opts.attachLatencyMs, detachLatencyMs: opts.detachLatencyMs, consistencyDelayMs: opts.consistencyDelayMs, seed: opts.seed,
    });
    this.throttler = new Throttler(opts.clock, opts.throttle);
    this.faults = new FaultInjector(seededRng(opts.seed ?? 1));
    this.latencyRng = seededRng((opts.seed ?? 1) + 7919);
  }
  private readonly latencyRng: () => number;

  private stat(action: string): CallStat {
    let s = this.stats.get(action);
    if (!s) this.stats.set(action, (s = { ok: 0, throttled: 0, errors: 0 }));
    return s;
  }

  /** Handles one Query request body; returns status and XML. Never throws. */
  async handle(params: Map<string, string>, requestId: string): Promise<{ status: number; body: string; code?: string; action?: string }> {
    const action = params.get('Action');
    const fail = (e: Ec2Error) => ({ status: e.status, body: errorXml(e.code, e.message, requestId), code: e.code, action });
    if (!action) return fail(new Ec2Error('MissingAction', 'The request must contain the parameter Action'));
    const handler = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!handler) return fail(new Ec2Error('InvalidAction', `The action ${action.slice(0, 100)} is not valid for this web service.`));
    const version = params.get('Version');
    if (!version) return fail(new Ec2Error('MissingParameter', 'The request must contain the parameter Version'));
    if (version !== API_VERSION) return fail(new Ec2Error('InvalidParameterValue', `Version ${version.slice(0, 40)} is not supported; use ${API_VERSION}`));
    const st = this.stat(action);
    if (!this.throttler.admit(action, isUnfiltered(params))) {
      st.throttled++;
      return fail(new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503));
    }
    const d = this.faults.decide(action);
    const took = d.latencyMs + (this.opts.latency ? callLatencyMs(this.opts.latency, action, this.latencyRng) : 0);
    if (took > 0) await this.opts.clock.sleep(took);
    if (d.fault) {
      st.errors++;
      const f = d.fault;
      return fail(new Ec2Error(f.code, f.message ?? `Injected fault ${f.code} for ${action}`, f.httpStatus ?? statusForCode(f.code)));
    }
    try {
      if (bool(params, 'DryRun')) throw new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
      const body = handler({ state: this.state, region: this.opts.region ?? 'us-east-1' }, params);
      st.ok++;
      return { status: 200, body: successXml(action, requestId, body), action };
    } catch (err) {
      st.errors++;
      if (err instanceof Ec2Error) return fail(err);
      this.opts.logger?.error({ err, action, requestId }, 'ec2-sim: internal error');
      return fail(new Ec2Error('InternalError', `An internal error has occurred (${action}): ${err instanceof Error ? err.message : String(err)}`, 500));
    }
  }

  callStats(): Record<string, CallStat> {
    return Object.fromEntries([...this.stats.entries()].map(([k, v]) => [k, { ...v }]));
  }
  resetCallStats(): void { this.stats.clear(); }

  admin(): Ec2SimAdmin {
    const s = this.state;
    return {
      createVpc: (cidr) => s.createVpc(cidr),
      addVpcCidr: (vpcId, cidr) => s.addVpcCidr(vpcId, cidr),
      createSubnet: (o) => s.createSubnet(o),
      createSecurityGroup: (name) => s.createSecurityGroup(name),
      runInstance: (o) => { const r = s.runInstance(o); return { instanceId: r.instanceId, primaryEniId: r.primaryEniId, zone: r.zone, privateIp: r.privateIp }; },
      terminateInstance: (id) => { s.terminateInstance(id); },
      injectFault: (action, f) => this.faults.add(action, f),
      clearFaults: () => this.faults.clear(),
      setThrottle: (t) => this.throttler.configure(t),
      callStats: () => this.callStats(),
      resetCallStats: () => this.resetCallStats(),
      listEnis: () => s.allEnis().map((e) => s.view(e)),
      subnetFree: (id) => s.subnetFree(id),
      subnetFreePrefixes: (id) => s.subnetFreePrefixes(id),
      attachmentStatus: (id) => { s.settle(); try { return s.eni(id).attachment?.status; } catch { return undefined; } },
      instance: (id) => { const i = s.allInstances().find((x) => x.id === id); return i && s.instanceView(i); },
      snapshot: () => s.snapshot(),
      restore: (x) => s.restore(x),
      onAddressesReleased: (fn) => s.onAddressesReleased(fn),
      consumeAddresses: (subnetId, n, o) => s.consumeAddresses(subnetId, n, o),
      releaseConsumed: (subnetId, n) => s.releaseConsumed(subnetId, n),
    };
  }
}

export async function startEc2SimServer(opts: Ec2SimOptions): Promise<Ec2Sim> {
  const core = new Ec2SimCore(opts);
  const admin = core.admin();
  const log = opts.logger ?? silentLogger();
  const cap = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;

  const send = (res: ServerResponse, status: number, body: string, type = 'text/xml;charset=UTF-8') => {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    void (async () => {
      try {
        const url = new URL(req.url ?? '/', 'http://sim');
        if (url.pathname.startsWith('/admin/')) {
          const r = await handleAdmin(admin, req.method ?? 'GET', url.pathname.slice('/admin/'.length), () => readBody(req, cap));
          send(res, r.status, JSON.stringify(r.body), 'application/json');
          return;
        }
        if (url.pathname !== '/') { send(res, 404, errorXml('InvalidAction', `No such path ${url.pathname.slice(0, 100)}; EC2 requests go to POST /`, requestId)); return; }
        if (req.method !== 'POST' && req.method !== 'GET') { send(res, 405, errorXml('UnsupportedHttpVerb', `Method ${req.method} is not supported; use POST`, requestId)); return; }
        const params = parseForm(req.method === 'POST' ? await readBody(req, cap) : '');
        for (const [k, v] of url.searchParams) if (!params.has(k)) params.set(k, v);
        const r = await core.handle(params, requestId);
        if (r.status >= 500 && r.code !== 'RequestLimitExceeded') log.warn({ action: r.action, code: r.code, requestId }, 'ec2-sim: server error answered');
        else log.debug({ action: r.action, status: r.status, code: r.code }, 'ec2-sim: request');
        send(res, r.status, r.body);
      } catch (err) {
        if (err instanceof BodyTooLarge) { send(res, 413, errorXml('RequestEntityTooLarge', `Request body exceeds ${cap} bytes`, requestId)); return; }
        log.error({ err, requestId }, 'ec2-sim: request failed');
        send(res, 500, errorXml('InternalError', 'An internal error has occurred', requestId));
      }
    })();
  });
  server.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n'); });
  // Keep idle connections longer than SDK clients do, so a client never reuses a socket the server is
  // closing at that moment ("socket hang up"), as AWS's endpoints behave.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const endpoint = `http://${host}:${addr.port}`;
  log.info({ endpoint }, 'ec2-sim listening');
  return {
    endpoint,
    admin,

    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
