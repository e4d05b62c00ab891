// One page of a collection as plain JSON. client-node's typed lists (e.g. listPodForAllNamespaces)
// turn every object into its model classes field by field (ObjectSerializer): with 150,000 pods that
// was about as much CPU as the rest of the allocator's cold start (bench scale). An informer that
// keeps only a projection of each object (lib/kube/informer.ts `project`) needs none of it: the
// projection reads the same camelCase fields the JSON has. Auth, TLS and the request timeout are
// the typed clients' own (KubeConfig's security settings, lib/kube/timeout.ts).
import { ApiException, HttpMethod, RequestContext, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { requestTimeoutOf } from './clients.ts';
import { TimeoutHttpLibrary } from './timeout.ts';
import type { ListPage } from './informer.ts';

/** Lists `path` (e.g. /api/v1/pods) one page at a time, as plain objects; non-2xx answers throw an ApiException with the code. */
export function rawLister<T extends KubernetesObject>(kc: KubeConfig, path: string, timeoutMs = requestTimeoutOf(kc)): (page?: ListPage) => Promise<KubernetesListObject<T>> {
  const http = new TimeoutHttpLibrary(timeoutMs);
  return async (page = {}) => {
    const server = kc.getCurrentCluster()?.server;
    if (!server) throw new Error('kubeconfig has no current cluster');
    const ctx = new RequestContext(server.replace(/\/$/, '') + path, HttpMethod.GET);
    if (page.limit) ctx.setQueryParam('limit', String(page.limit));
    if (page._continue) ctx.setQueryParam('continue', page._continue);
    ctx.setHeaderParam('Accept', 'application/json');
    await kc.applySecurityAuthentication(ctx);
    const res = await http.send(ctx).toPromise();
    const body = await res.body.text();
    if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
      throw new ApiException<string>(res.httpStatusCode, `HTTP ${res.httpStatusCode} listing ${path}: ${body.slice(0, 500)}`, body, res.headers);
    }
    const list = JSON.parse(body) as KubernetesListObject<T>;
    // The typed models call the wire's `continue` `_continue` (a reserved word); readers use theirs.
    const meta = list.metadata as { continue?: string; _continue?: string } | undefined;
    if (meta?.continue !== undefined) meta._continue = meta.continue;
    return list;
  };
}
