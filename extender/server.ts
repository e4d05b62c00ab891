// The extender's HTTP surface: POST <prefix>/filter and <prefix>/prioritize in kube-scheduler's
// wire format, plus /healthz, /readyz, /metrics from the shared JSON app. Malformed input gets a 400
// naming what is wrong, oversized bodies a 413; nothing a client sends can crash the process. Bodies
// are scanned, not parsed whole (extender/scan.ts), under a shared byte budget (extender/body.ts).
import type { Express, Request, Response } from 'express';
import { ByteBudget, HttpError, readBody } from './body.ts';
import { parseNamesOnly } from './names-body.ts';
import { scanExtenderArgs, type Span } from './scan.ts';
import type { Registry } from 'prom-client';
import { compileValidator, createJsonApp, jsonErrorHandler, makeAjv, validationMessage } from '../lib/http.ts';
import type { Logger } from '../lib/log.ts';
import { filterNodes, prioritizeNodes, type DecideConfig } from './filter.ts';
import { filterReply, NameResolver, prioritizeReply, warmKeyFor } from './filter.ts';
import { extenderMetrics } from './metrics.ts';
import { needCode, podNeed } from '../lib/enipool/need.ts';
import { podName } from './need.ts';
import type { PoolIndex } from './pool-index.ts';
import { canonicalKeys, extenderArgsSchema, type ExtenderArgs, type ExtenderFilterResult, type HostPriority } from './wire.ts';

export interface ExtenderConfig extends DecideConfig {
  /** Path prefix of the verbs, e.g. '' or '/scheduler'. */
  prefix: string;
  /** Request body cap, e.g. '80mb': a 5,000-node ExtenderArgs in full-node mode (see DEFAULT_BODY_LIMIT). */
  bodyLimit: string;
  /** Bytes of request bodies held at once across all requests; more wait (see extender/body.ts). */
  bodyBudget?: string;
}

/**
 * Measured, not guessed: test/extender-limits.test.ts builds the largest realistic ExtenderArgs in
 * full-node mode — 5,000 EKS-like Nodes with 50 images each (kubelet's nodeStatusMaxImages), 30
 * labels, conditions, addresses, 20 attached volumes — and checks that it fits this limit with less
 * than 40 % headroom. That body measured 91 MiB (19 kB per node).
 */
export const DEFAULT_BODY_LIMIT = '112mb';
/**
 * One maximum-size body at a time (smaller ones share the rest): measured peak RSS with four
 * maximum-size requests at once stays below 400 MB (test/extender-limits.test.ts). Full-node mode
 * is rare — the chart configures nodeCacheCapable: true, where bodies are names only.
 */
export const DEFAULT_BODY_BUDGET = '112mb';
/** A Pod or the NodeNames list beyond this is not one kube-scheduler could send (the apiserver caps objects at 3 MiB). */
const MAX_PART_BYTES = 8 * 1024 * 1024;

export const DEFAULT_EXTENDER_CONFIG: ExtenderConfig = {
  prefix: '',
  bodyLimit: DEFAULT_BODY_LIMIT,
  bodyBudget: DEFAULT_BODY_BUDGET,
  noPoolPolicy: 'pass',
  branchResource: 'vpc.amazonaws.com/pod-eni',
  // Must match the binding webhook: branch-ENI pods use the branch ENI's address, not a node IP.
  branchPodsNeedIP: false,
};

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
/** '32mb' → bytes. */
export function parseSize(s: string): number {
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(s.trim());
  if (!m) throw new Error(`"${s}" is not a size (e.g. 96mb)`);
  return Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!;
}

export function normalisePrefix(p: string): string {
  const t = p.trim().replace(/\/+$/, '');
  return t === '' ? '' : t.startsWith('/') ? t : `/${t}`;
}

interface Parsed {
  args: ExtenderArgs;
  names: string[];
  /** Full-node mode: the scanned node list, whose items go back out as the same bytes. */
  list?: { rest: string[]; items: Span[]; buf: Buffer };
}

export function createExtenderApp(o: { index: PoolIndex; config: ExtenderConfig; logger: Logger; registry?: Registry; requireClientCert?: boolean }): Express {
  const { index, config, logger } = o;
  const prefix = normalisePrefix(config.prefix);
  const metrics = extenderMetrics(o.registry, () => index.size());
  const validate = compileValidator<ExtenderArgs>(makeAjv(), extenderArgsSchema, 'ExtenderArgs');
  const limit = parseSize(config.bodyLimit);
  const budget = new ByteBudget(parseSize(config.bodyBudget ?? DEFAULT_BODY_BUDGET));
  const app = createJsonApp({ bodyLimit: config.bodyLimit, logger, registry: o.registry, ready: () => index.ready(), parseJson: false,
    // The verbs need the scheduler's client certificate when one is configured; health endpoints do not (kubelet probes).
    ...(o.requireClientCert ? { clientCertPrefix: [`${prefix}/filter`, `${prefix}/prioritize`] } : {}) });
  // kube-scheduler never revalidates; hashing a 250 kB reply for an ETag is pure waste.
  app.set('etag', false);
  const resolver = new NameResolver(index);
  const sendJSON = (res: Response, body: string | Buffer) => { res.type('application/json').send(body); };

  const reject = (res: Response, verb: string, t0: number, status: number, error: string) => {
    logger.debug({ verb, status, error }, 'rejected extender request');
    if (!res.headersSent) res.status(status).json({ error });
    metrics.duration.observe({ verb, code: String(status) }, (performance.now() - t0) / 1000);
  };

  /** Schema and mode checks of the small parts; undefined after answering 400. */
  function checked(small: Record<string, unknown>, res: Response, verb: string, t0: number): Parsed | undefined {
    if (!validate(small)) { reject(res, verb, t0, 400, validationMessage(validate)); return undefined; }
    const args = small as unknown as ExtenderArgs;
    if (args.NodeNames == null && args.Nodes == null) {
      reject(res, verb, t0, 400, 'ExtenderArgs needs NodeNames (nodeCacheCapable: true) or Nodes (nodeCacheCapable: false); both are null');
      return undefined;
    }
    return { args, names: args.NodeNames ?? [] };
  }

  /** Reads, scans and validates the body; undefined after answering 4xx. */
  async function parse(req: Request, res: Response, verb: string, t0: number): Promise<Parsed | undefined> {
    let buf: Buffer;
    try {
      buf = await readBody(req, limit);
    } catch (e) {
      reject(res, verb, t0, e instanceof HttpError ? e.status : 400, (e as Error).message);
      return undefined;
    }
    // Names-only bodies (the chart's mode) in one native parse; everything else through the scanner.
    const fast = parseNamesOnly(buf);
    if (fast) {
      const small = { Pod: fast.Pod, NodeNames: fast.NodeNames, Nodes: fast.Nodes } as Record<string, unknown>;
      for (const k of Object.keys(small)) if (small[k] === undefined) delete small[k];
      return checked(small, res, verb, t0);
    }
    try {
      const scanned = scanExtenderArgs(buf);
      const s = scanned.scanner;
      const part = (span: Span | undefined, what: string): unknown => {
        if (!span) return undefined;
        if (span.end - span.start > MAX_PART_BYTES) throw new HttpError(413, `ExtenderArgs.${what} is larger than ${MAX_PART_BYTES} bytes`);
        return JSON.parse(s.text(span)) as unknown;
      };
      // The small parts are checked with the schema; the node items were checked by the scanner.
      const small = canonicalKeys({
        Pod: part(scanned.pod, 'Pod'),
        NodeNames: part(scanned.nodeNames, 'NodeNames'),
        Nodes: scanned.nodes === undefined ? undefined : scanned.nodes === null ? null : { items: [] },
      }) as Record<string, unknown>;
      for (const k of Object.keys(small)) if (small[k] === undefined) delete small[k];
      const p = checked(small, res, verb, t0);
      if (!p || p.args.NodeNames != null) return p;
      const list = scanned.nodes!;
      return { args: p.args, names: list.items.map((n) => n.name), list: { rest: list.rest, items: list.items.map((n) => n.span), buf } };
    } catch (e) {
      if (e instanceof HttpError) reject(res, verb, t0, e.status, e.message);
      else reject(res, verb, t0, 400, `request body is not valid JSON for ExtenderArgs: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Runs a verb with its body counted against the shared budget until the response is done. */
  const verb = (name: 'filter' | 'prioritize', handle: (p: Parsed, res: Response, t0: number) => void) => async (req: Request, res: Response) => {
    const t0 = performance.now();
    const declared = Number(req.headers['content-length']);
    const release = await budget.acquire(Number.isFinite(declared) && declared >= 0 ? Math.min(declared, limit) : limit);
    res.once('close', release);
    res.once('finish', release);
    try {
      const p = await parse(req, res, name, t0);
      if (p) handle(p, res, t0);
    } catch (e) {
      // Nothing a client sends should get here; answer rather than crash.
      logger.error({ verb: name, err: (e as Error).message }, 'extender request failed');
      if (!res.headersSent) res.status(500).json({ error: 'internal error' });
      release();
    }
  };

  // performance.now(): these are latency metrics of real CPU work, not simulated time.
  app.post(`${prefix}/filter`, verb('filter', (p, res, t0) => {
    const { args, names } = p;
    if (!index.ready()) {
      // An Error aborts this scheduling cycle (back-off and retry), which is right while the cache is cold.
      const result: ExtenderFilterResult = { Nodes: null, NodeNames: null, FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: 'eni-ipam extender: ENIPool cache not synced yet' };
      res.json(result);
    } else if (!p.list) {
      const rejected: Partial<Record<string, number>> = {};
      const body = filterReply(resolver.resolve(names), needCode(podNeed(args.Pod, config)), config, rejected);
      sendJSON(res, body);
      let out = 0;
      for (const [cls, n] of Object.entries(rejected)) { metrics.filteredOut.inc({ reason: cls }, n!); out += n!; }
      if (out === names.length && names.length > 0) logger.info({ pod: podName(args.Pod), nodes: names.length }, 'no node can give the pod an IP / branch slot');
    } else {
      const out = filterNodes(args.Pod, names, index, config);
      for (const [cls, n] of Object.entries(out.rejected)) metrics.filteredOut.inc({ reason: cls }, n);
      if (out.passed.length === 0 && names.length > 0) logger.info({ pod: podName(args.Pod), nodes: names.length }, 'no node can give the pod an IP / branch slot');
      // Passing nodes go back as the bytes they came in: nothing is re-serialised or copied.
      const { buf, items, rest } = p.list;
      res.status(200).type('application/json');
      res.cork();
      res.write(`{"Nodes":{${rest.map((r) => `${r},`).join('')}"items":[`);
      out.passed.forEach((i, k) => {
        if (k > 0) res.write(',');
        res.write(buf.subarray(items[i]!.start, items[i]!.end));
      });
      res.write(`]},"NodeNames":null,"FailedNodes":${JSON.stringify(out.failed)},"FailedAndUnresolvableNodes":${JSON.stringify(out.unresolvable)},"Error":""}`);
      res.uncork();
      res.end();
    }
    metrics.duration.observe({ verb: 'filter', code: '200' }, (performance.now() - t0) / 1000);
  }));

  app.post(`${prefix}/prioritize`, verb('prioritize', (p, res, t0) => {
    if (!p.list) {
      const code = needCode(podNeed(p.args.Pod, config));
      sendJSON(res, prioritizeReply(resolver.resolve(p.names), code, warmKeyFor(p.args.Pod, code)));
    } else {
      const scores: HostPriority[] = prioritizeNodes(p.args.Pod, p.names, index, config);
      res.json(scores);
    }
    metrics.duration.observe({ verb: 'prioritize', code: '200' }, (performance.now() - t0) / 1000);
  }));

  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}: the extender serves POST ${prefix}/filter and POST ${prefix}/prioritize` });
  });
  app.use(jsonErrorHandler(logger));
  return app;
}
