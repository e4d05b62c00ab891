// HTTP face of kube-sim: routes kube-apiserver URLs onto the Engine, speaks its JSON (Status
// errors, lists, watch streams, Tables, discovery), caps bodies and never lets a request crash it.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { makeCA, makeServingCert } from '../../lib/certs.ts';
import type { TimerHandle } from '../../lib/clock.ts';
import type { UserInfo } from './admission-seam.ts';
import { apiGroup, apiGroupList, apiVersions, groupsOf, resourceList, versionInfo } from './discovery.ts';
import { DEFAULT_USER, Engine, type Ctx } from './engine.ts';
import { ApiError, badRequest, invalid, methodNotAllowed, notFound } from './errors.ts';
import { parseFieldValidation } from './fields.ts';
import { kubeConfigFor } from './kubeconfig.ts';
import { PATCH_CONTENT_TYPES } from './patch.ts';
import { apiVersionOf, type ResourceInfo } from './resources.ts';
import { toTable } from './table.ts';
import { openapiGroupVersion, openapiRoot } from './openapi.ts';
import type { KObject, KubeSim, KubeSimOptions } from './types.ts';

interface Route {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  sub?: string;
  watchPath: boolean;
}

const JSON_CT = 'application/json';

function send(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  if (res.headersSent) { res.end(); return; }
  const text = JSON.stringify(body);
  const headers: Record<string, string | string[]> = { 'Content-Type': JSON_CT, 'Content-Length': String(Buffer.byteLength(text)), 'Cache-Control': 'no-cache, private' };
  if (warnings.length) headers.Warning = warnings.map((w) => `299 - "${w.replace(/["\\]/g, '\\$&')}"`);
  res.writeHead(code, headers);
  res.end(text);
}

function sendError(res: ServerResponse, e: unknown): void {
  const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`);
  send(res, err.code, err.toStatus());
}

/** Reads the body up to `max` bytes; larger → 413 as the apiserver does. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > max) { failed = true; reject(new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${max}`)); return; }
      chunks.push(c);
    });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks)); });
    req.on('error', (err) => { if (!failed) { failed = true; reject(err); } });
  });
}

function parseBody(buf: Buffer, contentType: string): KObject {
  const text = buf.toString('utf8');
  if (!text.trim()) return undefined;
  if (contentType.includes('yaml')) {
    try { return parseYaml(text); } catch (e) { throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`); }
  }
  try { return JSON.parse(text); } catch (e) { throw badRequest(`error decoding JSON: ${e instanceof Error ? e.message : String(e)}`); }
}

/** Bearer token = username (kube-sim convention) or Impersonate-User/Group headers. */
function userOf(req: IncomingMessage): UserInfo {
  const imp = req.headers['impersonate-user'];
  const auth = req.headers.authorization;
  const name = typeof imp === 'string' ? imp : auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
  if (!name || name === 'admin' || name === 'sim-admin') return DEFAULT_USER;
  const groups: string[] = [];
  const ig = req.headers['impersonate-group'];
  if (ig) groups.push(...(Array.isArray(ig) ? ig : [ig]));
  const sa = name.match(/^system:serviceaccount:([^:]+):/);
  if (sa) groups.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  groups.push('system:authenticated');
  return { username: name, groups };
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(String(req.headers.accept ?? ''));
}

export async function startKubeSimServer(o: KubeSimOptions): Promise<KubeSim> {
  const engine = new Engine({ clock: o.clock, logger: o.logger, admitter: o.admitter, watchHistory: o.watchHistory, conflictInjection: o.conflictInjection });
  const maxBody = o.maxBodyBytes ?? 3 * 1024 * 1024;
  const watchTimeout = o.watchTimeoutMs ?? 5 * 60_000;
  const log = o.logger;
  const openWatches = new Set<() => void>();
  let addressForDiscovery = '127.0.0.1:0';

  function route(segs: string[], group: string, version: string): Route {
    let s = segs;
    let watchPath = false;
    if (s[0] === 'watch') { watchPath = true; s = s.slice(1); }
    let namespace: string | undefined;
    if (s[0] === 'namespaces' && s.length >= 3 && s[2] !== 'status' && s[2] !== 'finalize') { namespace = s[1]; s = s.slice(2); }
    const [resource, name, sub, ...extra] = s;
    const info = resource ? engine.registry.lookup(group, resource, version) : undefined;
    if (!info || extra.length) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (namespace !== undefined && !info.namespaced) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (sub !== undefined && !(sub === 'status' && info.status) && !(sub === 'binding' && info.extraSubresources?.includes('binding'))) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    return { info, namespace, name, sub, watchPath };
  }

  async function handleResource(req: IncomingMessage, res: ServerResponse, url: URL, r: Route): Promise<void> {
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (o.audit) {
      const watch = r.watchPath || q.get('watch') === 'true' || q.get('watch') === '1';
      const verb = method === 'GET' ? (watch ? 'watch' : r.name ? 'get' : 'list') : method === 'POST' ? 'create' : method === 'PUT' ? 'update' : method === 'PATCH' ? 'patch' : r.name ? 'delete' : 'deletecollection';
      o.audit({ user: userOf(req).username, verb, group: r.info.group, resource: r.sub ? `${r.info.resource}/${r.sub}` : r.info.resource, ...(r.namespace !== undefined ? { namespace: r.namespace } : {}), ...(r.name ? { name: r.name } : {}) });
    }
    const ctxBase = (options: KObject): Ctx => {
      const fv = q.get('fieldValidation');
      const fieldValidation = parseFieldValidation(fv);
      if (fv && !fieldValidation) {
        throw invalid(options.kind, 'meta.k8s.io', '', [{ reason: 'FieldValueNotSupported', field: 'fieldValidation', message: `Unsupported value: "${fv}": supported values: "", "Ignore", "Strict", "Warn"` }]);
      }
      return { user: userOf(req), dryRun: q.getAll('dryRun').includes('All'), admit: true, fieldManager: q.get('fieldManager') ?? undefined, options, fieldValidation, bodyOwned: true };
    };
    const { info } = r;
    const listOpts = () => ({
      namespace: r.namespace, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined,
      limit: q.get('limit') ? Number(q.get('limit')) : undefined, continue: q.get('continue') ?? undefined,
    });
    if (method === 'GET') {
      const isWatch = r.watchPath || q.get('watch') === 'true' || q.get('watch') === '1';
      if (isWatch) {
        if (r.name) { // watch of a single object = fieldSelector on its name
          const fs = [q.get('fieldSelector'), `metadata.name=${r.name}`].filter(Boolean).join(',');
          q.set('fieldSelector', fs);
        }
        serveWatch(req, res, r, q);
        return;
      }
      if (r.name) {
        const obj = engine.getStored(info, r.name, r.namespace);
        if (!obj) throw notFound(info.resource, info.group, r.name);
        if (wantsTable(req)) { send(res, 200, toTable(info, [obj], { resourceVersion: obj.metadata.resourceVersion }, engine.now(), q.get('includeObject') ?? 'Metadata')); return; }
        send(res, 200, obj);
        return;
      }
      const list = engine.listIn(info, listOpts());
      if (wantsTable(req)) { send(res, 200, toTable(info, list.items, list, engine.now(), q.get('includeObject') ?? 'Metadata')); return; }
      send(res, 200, {
        kind: info.listKind, apiVersion: apiVersionOf(info),
        metadata: { resourceVersion: list.resourceVersion, ...(list.continue ? { continue: list.continue, remainingItemCount: list.remainingItemCount } : {}) },
        items: list.items,
      });
      return;
    }
    const ct = String(req.headers['content-type'] ?? JSON_CT).split(';')[0]!.trim().toLowerCase();
    const body = parseBody(await readBody(req, maxBody), ct);
    if (method === 'POST') {
      if (r.sub === 'binding') {
        const w = await engine.bindIn(r.namespace ?? 'default', r.name!, body, ctxBase({ kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' }), true);
        send(res, 201, w.object, w.warnings);
        return;
      }
      if (r.name) throw methodNotAllowed(`POST on a named ${info.resource} is not supported`);
      if (body === undefined) throw badRequest('the request body is empty');
      const w = await engine.createIn(info, body, r.namespace, ctxBase({ kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', ...(q.get('fieldManager') ? { fieldManager: q.get('fieldManager') } : {}) }));
      send(res, 201, w.object, w.warnings);
      return;
    }
    if (method === 'PUT') {
      if (!r.name) throw methodNotAllowed(`PUT requires a name`);
      if (body === undefined) throw badRequest('the request body is empty');
      const w = await engine.updateIn(info, body, r.namespace, r.name, r.sub, ctxBase({ kind: 'UpdateOptions', apiVersion: 'meta.k8s.io/v1' }));
      send(res, 200, w.object, w.warnings);
      return;
    }
    if (method === 'PATCH') {
      if (!r.name) throw methodNotAllowed(`PATCH requires a name`);
      const type = PATCH_CONTENT_TYPES[ct];
      if (!type) throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.keys(PATCH_CONTENT_TYPES).join(', ')}`);
      if (body === undefined) throw badRequest('the patch body is empty');
      const w = await engine.patchIn(info, body, type, r.namespace, r.name, r.sub, { ...ctxBase({ kind: 'PatchOptions', apiVersion: 'meta.k8s.io/v1' }), force: q.get('force') === 'true' });
      send(res, 200, w.object, w.warnings);
      return;
    }
    if (method === 'DELETE') {
      const opts = { ...(body ?? {}) } as KObject;
      if (q.get('propagationPolicy')) opts.propagationPolicy = q.get('propagationPolicy');
      if (q.get('gracePeriodSeconds')) opts.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
      if (q.get('orphanDependents') === 'true') opts.propagationPolicy = 'Orphan';
      if (Array.isArray(opts.dryRun) && opts.dryRun.includes('All')) q.append('dryRun', 'All');
      const ctx = ctxBase({ kind: 'DeleteOptions', apiVersion: 'meta.k8s.io/v1', ...opts });
      if (!r.name) {
        const items = engine.listIn(info, listOpts()).items;
        const deleted: KObject[] = [];
        const warnings: string[] = [];
        for (const it of items) {
          const w = await engine.deleteIn(info, it.metadata.namespace, it.metadata.name, ctx, opts);
          deleted.push(w.object); warnings.push(...w.warnings);
        }
        send(res, 200, { kind: info.listKind, apiVersion: apiVersionOf(info), metadata: { resourceVersion: engine.resourceVersion() }, items: deleted }, warnings);
        return;
      }
      const w = await engine.deleteIn(info, r.namespace, r.name, ctx, opts);
      // Like kube-apiserver: 202 only when the caller asked for cascading (orphanDependents false) and
      // the object is still there; an object gone at once is answered with a success Status, except
      // by the kinds whose REST storage returns the deleted object.
      const code = !w.gone && (body as KObject)?.orphanDependents === false ? 202 : 200;
      const returnsObject = info.group === '' && ['pods', 'namespaces', 'services'].includes(info.resource);
      const gone = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: r.name, ...(info.group ? { group: info.group } : {}), kind: info.resource, uid: w.object?.metadata?.uid } };
      send(res, code, w.gone && !returnsObject ? gone : w.object, w.warnings);
      return;
    }
    throw methodNotAllowed(`method ${method} is not supported`);
  }

  function serveWatch(req: IncomingMessage, res: ServerResponse, r: Route, q: URLSearchParams): void {
    const table = wantsTable(req);
    const includeObject = q.get('includeObject') ?? 'Metadata';
    const write = (type: string, obj: KObject) => {
      const object = table && type !== 'ERROR' && type !== 'BOOKMARK' ? toTable(r.info, [obj], {}, engine.now(), includeObject) : obj;
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    let handle: { stop(): void } | undefined;
    const timer: { h?: TimerHandle } = {};
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      handle?.stop();
      timer.h?.cancel();
      openWatches.delete(close);
      if (!res.writableEnded) res.end();
    };
    res.writeHead(200, { 'Content-Type': JSON_CT, 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    // Send the headers now: client-node's Watch resolves only once they arrive, and a watch that
    // starts at the current resourceVersion may see no event for a long time.
    res.flushHeaders();
    try {
      handle = engine.watchIn(r.info, {
        namespace: r.namespace, labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined,
        resourceVersion: q.get('resourceVersion') ?? undefined,
      }, (type, obj) => { if (!closed) write(type, obj); });
    } catch (e) {
      // Too old or invalid: the apiserver answers with an ERROR event carrying the Status, then ends.
      const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', String(e));
      write('ERROR', err.toStatus());
      close();
      return;
    }
    openWatches.add(close);
    const bookmarks = q.get('allowWatchBookmarks') === 'true';
    const secs = Number(q.get('timeoutSeconds'));
    // Jitter like the apiserver (timeout..2×timeout) so informers don't reconnect in lockstep.
    const ms = secs > 0 ? secs * 1000 : watchTimeout * (1 + Math.random());
    // A closing BOOKMARK lets bookmark-aware clients resume from the latest version, not a stale one.
    timer.h = o.clock.setTimeout(() => {
      if (bookmarks && !closed) write('BOOKMARK', { kind: r.info.kind, apiVersion: apiVersionOf(r.info), metadata: { resourceVersion: engine.resourceVersion() } });
      close();
    }, ms);
    req.on('close', close);
    res.on('close', close);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://kube-sim');
    const segs = url.pathname.split('/').filter((x) => x !== '').map(decodeURIComponent);
    const method = req.method ?? 'GET';
    log?.debug({ method, url: req.url }, 'request');
    if (segs[0] === 'version' && segs.length === 1) return send(res, 200, versionInfo());
    if (['healthz', 'livez', 'readyz'].includes(segs[0] ?? '')) { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('ok'); return; }
    if (segs[0] === 'api') {
      if (segs.length === 1) return send(res, 200, apiVersions(addressForDiscovery));
      if (segs[1] !== 'v1') throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (segs.length === 2) return send(res, 200, resourceList('v1', engine.registry.all().filter((x) => x.group === '')));
      return handleResource(req, res, url, route(segs.slice(2), '', 'v1'));
    }
    if (segs[0] === 'apis') {
      const all = engine.registry.all();
      if (segs.length === 1) return send(res, 200, apiGroupList(all));
      const g = segs[1]!;
      const versions = groupsOf(all).get(g);
      if (!versions) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (segs.length === 2) return send(res, 200, apiGroup(g, versions));
      const v = segs[2]!;
      if (!versions.includes(v)) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (segs.length === 3) return send(res, 200, resourceList(`${g}/${v}`, all.filter((x) => x.group === g && x.version === v)));
      return handleResource(req, res, url, route(segs.slice(3), g, v));
    }
    if (segs[0] === 'openapi' && segs[1] === 'v3' && method === 'GET') {
      if (segs.length === 2) return send(res, 200, openapiRoot(engine.registry.all()));
      const doc = openapiGroupVersion(engine.registry.all(), segs.slice(2).join('/'));
      if (doc) return send(res, 200, doc);
    }
    if (method !== 'GET') throw methodNotAllowed(`method ${method} is not supported on ${url.pathname}`);
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      if (!(e instanceof ApiError)) log?.error({ err: e, url: req.url }, 'request failed');
      // Drain what is left of an oversized body so the client sees the 413.
      req.resume();
      try { sendError(res, e); } catch { res.destroy(); }
    });
  };

  let server: Server;
  let caPem: string | undefined;
  if (o.tls) {
    let pair: { cert: string; key: string };
    if (o.tls === true) {
      const ca = makeCA({ commonName: 'kube-sim-ca' });
      const serving = makeServingCert(ca, { dnsNames: ['localhost', 'kubernetes', 'kubernetes.default.svc'], ipAddresses: ['127.0.0.1'] });
      pair = { cert: serving.certPem, key: serving.keyPem };
      caPem = ca.certPem;
    } else {
      pair = o.tls;
    }
    server = createHttpsServer({ cert: pair.cert, key: pair.key }, listener);
  } else {
    server = createHttpServer(listener);
  }
  server.keepAliveTimeout = 60_000;
  const host = o.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  addressForDiscovery = `${hostForUrl}:${port}`;
  const url = `${o.tls ? 'https' : 'http'}://${hostForUrl}:${port}`;
  log?.info({ url }, 'kube-sim listening');

  return {
    url,
    caPem,
    store: engine,
    kubeConfig: () => kubeConfigFor(url, { caPem }),
    setAdmitter: (a) => engine.setAdmitter(a),
    setConflictInjection: (c) => engine.setConflictInjection(c),
    close: async () => {
      for (const c of [...openWatches]) c();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
