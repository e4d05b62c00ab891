// The extender's HTTP surface: POST <prefix>/filter and <prefix>/prioritize in kube-scheduler's
// wire format, plus /healthz, /readyz, /metrics from the shared JSON app. Malformed input gets a 400
// naming what is wrong, oversized bodies a 413; nothing a client sends can crash the process.
import type { Express, Request, Response } from 'express';
import type { Registry } from 'prom-client';
import { compileValidator, createJsonApp, jsonErrorHandler, makeAjv, validationMessage } from '../lib/http.ts';
import type { Logger } from '../lib/log.ts';
import { filterNodes, prioritizeNodes, type DecideConfig } from './filter.ts';
import { filterReplyJSON, NameResolver, prioritizeReplyJSON } from './filter.ts';
import { extenderMetrics } from './metrics.ts';
import { needCode, podNeed } from '../lib/enipool/need.ts';
import { podName } from './need.ts';
import type { PoolIndex } from './pool-index.ts';
import { canonicalKeys, extenderArgsSchema, type ExtenderArgs, type ExtenderFilterResult, type HostPriority } from './wire.ts';

export interface ExtenderConfig extends DecideConfig {
  /** Path prefix of the verbs, e.g. '' or '/scheduler'. */
  prefix: string;
  /** Request body cap, e.g. '20mb' (5,000 full Node objects are several MB). */
  bodyLimit: string;
}

export const DEFAULT_EXTENDER_CONFIG: ExtenderConfig = {
  prefix: '',
  bodyLimit: '32mb',
  noPoolPolicy: 'pass',
  branchResource: 'vpc.amazonaws.com/pod-eni',
  // Must match the binding webhook: branch-ENI pods use the branch ENI's address, not a node IP.
  branchPodsNeedIP: false,
};

export function normalisePrefix(p: string): string {
  const t = p.trim().replace(/\/+$/, '');
  return t === '' ? '' : t.startsWith('/') ? t : `/${t}`;
}

export function createExtenderApp(o: { index: PoolIndex; config: ExtenderConfig; logger: Logger; registry?: Registry }): Express {
  const { index, config, logger } = o;
  const prefix = normalisePrefix(config.prefix);
  const metrics = extenderMetrics(o.registry, () => index.size());
  const validate = compileValidator<ExtenderArgs>(makeAjv(), extenderArgsSchema, 'ExtenderArgs');
  const app = createJsonApp({ bodyLimit: config.bodyLimit, logger, registry: o.registry, ready: () => index.ready() });
  // kube-scheduler never revalidates; hashing a 250 kB reply for an ETag is pure waste.
  app.set('etag', false);
  const resolver = new NameResolver(index);
  const sendJSON = (res: Response, body: string) => { res.type('application/json').send(body); };

  /** Validated args plus the node names, or undefined after answering 400. */
  function parse(req: Request, res: Response, verb: string, t0: number): { args: ExtenderArgs; names: string[] } | undefined {
    const body = canonicalKeys(req.body);
    let error: string | undefined;
    if (!validate(body)) error = validationMessage(validate);
    else if (body.NodeNames == null && body.Nodes == null) error = 'ExtenderArgs needs NodeNames (nodeCacheCapable: true) or Nodes (nodeCacheCapable: false); both are null';
    if (error) {
      logger.debug({ verb, error }, 'rejected malformed extender request');
      res.status(400).json({ error });
      metrics.duration.observe({ verb, code: '400' }, (performance.now() - t0) / 1000);
      return undefined;
    }
    const args = body as ExtenderArgs;
    const names = args.NodeNames ?? (args.Nodes?.items ?? []).map((n) => n.metadata.name);
    return { args, names };
  }

  // performance.now(): these are latency metrics of real CPU work, not simulated time.
  app.post(`${prefix}/filter`, (req, res) => {
    const t0 = performance.now();
    const p = parse(req, res, 'filter', t0);
    if (!p) return;
    const { args, names } = p;
    const cacheMode = args.NodeNames != null;
    let result: ExtenderFilterResult;
    if (!index.ready()) {
      // An Error aborts this scheduling cycle (back-off and retry), which is right while the cache is cold.
      result = { Nodes: null, NodeNames: null, FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: 'eni-ipam extender: ENIPool cache not synced yet' };
    } else if (cacheMode) {
      const rejected: Partial<Record<string, number>> = {};
      const body = filterReplyJSON(resolver.resolve(names), needCode(podNeed(args.Pod, config)), config, rejected);
      sendJSON(res, body);
      let out = 0;
      for (const [cls, n] of Object.entries(rejected)) { metrics.filteredOut.inc({ reason: cls }, n!); out += n!; }
      if (out === names.length && names.length > 0) logger.info({ pod: podName(args.Pod), nodes: names.length }, 'no node can give the pod an IP / branch slot');
      metrics.duration.observe({ verb: 'filter', code: '200' }, (performance.now() - t0) / 1000);
      return;
    } else {
      const out = filterNodes(args.Pod, names, index, config);
      const passedNames = cacheMode ? out.passed.map((i) => names[i]!) : null;
      const nodes = cacheMode ? null : { ...args.Nodes!, items: out.passed.map((i) => args.Nodes!.items[i]!) };
      result = { Nodes: nodes, NodeNames: passedNames, FailedNodes: out.failed, FailedAndUnresolvableNodes: out.unresolvable, Error: '' };
      for (const [cls, n] of Object.entries(out.rejected)) metrics.filteredOut.inc({ reason: cls }, n);
      if (out.passed.length === 0 && names.length > 0) {
        logger.info({ pod: podName(args.Pod), nodes: names.length }, 'no node can give the pod an IP / branch slot');
      }
    }
    res.json(result);
    metrics.duration.observe({ verb: 'filter', code: '200' }, (performance.now() - t0) / 1000);
  });

  app.post(`${prefix}/prioritize`, (req, res) => {
    const t0 = performance.now();
    const p = parse(req, res, 'prioritize', t0);
    if (!p) return;
    if (p.args.NodeNames != null) {
      sendJSON(res, prioritizeReplyJSON(resolver.resolve(p.names), needCode(podNeed(p.args.Pod, config))));
    } else {
      const scores: HostPriority[] = prioritizeNodes(p.args.Pod, p.names, index, config);
      res.json(scores);
    }
    metrics.duration.observe({ verb: 'prioritize', code: '200' }, (performance.now() - t0) / 1000);
  });

  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}: the extender serves POST ${prefix}/filter and POST ${prefix}/prioritize` });
  });
  app.use(jsonErrorHandler(logger));
  return app;
}
