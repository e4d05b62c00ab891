// kube-scheduler's extender wire format (kube-scheduler extender/v1: no json tags, so the keys are
// the capitalised Go field names; the embedded Pod/Node use normal lower-camel keys).
import type { ExtenderPod } from './need.ts';

export interface WireNode { metadata: { name: string }; [k: string]: unknown }
export interface WireNodeList { items: WireNode[]; [k: string]: unknown }

export interface ExtenderArgs {
  Pod: ExtenderPod;
  Nodes: WireNodeList | null;
  NodeNames: string[] | null;
}

export interface ExtenderFilterResult {
  Nodes: WireNodeList | null;
  NodeNames: string[] | null;
  FailedNodes: Record<string, string>;
  FailedAndUnresolvableNodes: Record<string, string>;
  Error: string;
}

export interface HostPriority { Host: string; Score: number }

const nullable = (schema: object) => ({ anyOf: [{ type: 'null' }, schema] });

// Only what the extender reads is checked; everything else in the Pod/Node passes through untouched.
const containers = { type: 'array', items: { type: 'object' } };
export const extenderArgsSchema = {
  type: 'object',
  required: ['Pod'],
  properties: {
    Pod: {
      type: 'object',
      properties: {
        metadata: { type: 'object', properties: { annotations: nullable({ type: 'object', additionalProperties: { type: 'string' } }) } },
        spec: { type: 'object', properties: { hostNetwork: nullable({ type: 'boolean' }), containers: nullable(containers), initContainers: nullable(containers) } },
      },
    },
    Nodes: nullable({
      type: 'object',
      required: ['items'],
      properties: {
        items: nullable({ type: 'array', items: { type: 'object', required: ['metadata'], properties: { metadata: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } } } }),
      },
    }),
    NodeNames: nullable({ type: 'array', items: { type: 'string' } }),
  },
};

/**
 * Go decodes the keys case-insensitively, so some clients send `pod`/`nodenames`; accept those
 * too, but only when the canonical key is absent.
 */
export function canonicalKeys(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body) || 'Pod' in body) return body;
  const out: Record<string, unknown> = {};
  const canon: Record<string, string> = { pod: 'Pod', nodes: 'Nodes', nodenames: 'NodeNames' };
  for (const [k, v] of Object.entries(body)) out[canon[k.toLowerCase()] ?? k] = v;
  return out;
}
