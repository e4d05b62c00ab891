// How to drive @kubernetes/client-node 1.4 against an apiserver (kube-sim or real):
//
// * Patches: every generated `patch*` method sends `Content-Type: application/json-patch+json`
//   (the first media type it knows) unless a middleware overrides the header. Pass the options
//   below as the method's second argument, e.g.
//     core.patchNamespacedPod({ name, namespace, body: { metadata: { labels } } }, mergePatch());
//     core.patchNamespacedPod({ name, namespace, body: [{ op: 'replace', path: '/x', value: 1 }] }); // JSON patch
//   KubernetesObjectApi.patch() takes the strategy as a parameter instead (default strategic).
// * Errors: rejections are ApiException with `code` (HTTP status) and `body` (the Status JSON as a string);
//   `apiStatus(e)` decodes them.
import { PatchStrategy, setHeaderOptions, type ConfigurationOptions } from '@kubernetes/client-node';

type Opts = ConfigurationOptions | undefined;

/** application/merge-patch+json (RFC 7386). */
export const mergePatch = (opt?: Opts): ConfigurationOptions => setHeaderOptions('Content-Type', PatchStrategy.MergePatch, opt);
/** application/strategic-merge-patch+json (built-in kinds only; CRDs answer 415). */
export const strategicPatch = (opt?: Opts): ConfigurationOptions => setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch, opt);
/** application/json-patch+json (RFC 6902): the client default, explicit for readability. */
export const jsonPatch = (opt?: Opts): ConfigurationOptions => setHeaderOptions('Content-Type', PatchStrategy.JsonPatch, opt);
/** application/apply-patch+yaml (server-side apply; also pass fieldManager and force). */
export const applyPatch = (opt?: Opts): ConfigurationOptions => setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, opt);

export interface ApiStatus { code: number; reason?: string; message?: string; details?: Record<string, unknown> }

/** The HTTP status and decoded Status body of a client-node ApiException (undefined for other errors). */
export function apiStatus(e: unknown): ApiStatus | undefined {
  if (!e || typeof e !== 'object' || typeof (e as { code?: unknown }).code !== 'number') return undefined;
  const err = e as { code: number; body?: unknown };
  let body: Record<string, unknown> = {};
  if (typeof err.body === 'string') { try { body = JSON.parse(err.body); } catch { /* non-JSON body */ } } else if (err.body && typeof err.body === 'object') body = err.body as Record<string, unknown>;
  return { code: err.code, reason: body.reason as string | undefined, message: body.message as string | undefined, details: body.details as Record<string, unknown> | undefined };
}

/** True for a 409 (Conflict or AlreadyExists): re-read and retry. */
export const isConflict = (e: unknown): boolean => apiStatus(e)?.code === 409;
export const isNotFound = (e: unknown): boolean => apiStatus(e)?.code === 404;
