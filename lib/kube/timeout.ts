// Every Kubernetes API call ends: client-node 1.4 sends requests without any timeout, so a server
// that accepts a connection and never answers (a half-dead apiserver, a black-holed route) would
// hang the caller forever. This HTTP library wraps client-node's own and gives each request an
// AbortSignal that fires after `timeoutMs` of real time (a network property, not the sandbox
// clock), covering the wait for headers and the read of the body. Watches do not go through here:
// they stream for minutes and are bounded in lib/kube/informer.ts instead. It also keeps connections
// alive across requests (lib/kube/agents.ts): client-node alone opens one per request.
import { IsomorphicFetchHttpLibrary, Observable, ResponseContext, type HttpLibrary, type RequestContext } from '@kubernetes/client-node';
import { KeepAliveAgents } from './agents.ts';

/** A Kubernetes API request that got no (complete) answer in time. */
export class KubeTimeoutError extends Error {
  readonly timeout = true;
  constructor(readonly method: string, readonly url: string, readonly timeoutMs: number) {
    super(`Kubernetes API ${method} ${new URL(url).pathname}: no answer within ${timeoutMs} ms`);
    this.name = 'KubeTimeoutError';
  }
}

export class TimeoutHttpLibrary implements HttpLibrary {
  private readonly inner = new IsomorphicFetchHttpLibrary();
  private readonly agents = new KeepAliveAgents();
  constructor(private readonly timeoutMs: number) {
    if (!(timeoutMs > 0)) throw new Error(`Kubernetes request timeout must be positive, got ${timeoutMs} ms`);
  }

  send(req: RequestContext): Observable<ResponseContext> {
    const timer = AbortSignal.timeout(this.timeoutMs);
    const prior = req.getSignal();
    req.setSignal(prior ? AbortSignal.any([prior, timer]) : timer);
    const agent = req.getAgent();
    const pooled = this.agents.for(agent);
    if (pooled && pooled !== agent) req.setAgent(pooled);
    const method = String(req.getHttpMethod());
    const url = req.getUrl();
    const named = (err: unknown): never => { throw timer.aborted ? new KubeTimeoutError(method, url, this.timeoutMs) : err; };
    const p = this.inner.send(req).toPromise().then((resp) => new ResponseContext(resp.httpStatusCode, resp.headers, {
      // The body is read after the headers: an abort then surfaces here, and gets the same name.
      text: () => resp.body.text().catch(named),
      binary: () => resp.body.binary().catch(named),
    }), named);
    return new Observable(p);
  }
}
