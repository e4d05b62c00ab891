// What kube-sim serves: one ResourceInfo per resource (built-ins here, CRDs added at runtime by
// crd.ts). Discovery, routing, tables and storage semantics all read from this registry.
import type { KObject } from './types.ts';
import type { StatusCause } from './errors.ts';
import { decodeTyped, modelNameOf, type DecodeResult } from './fields.ts';

export interface PrinterColumn { name: string; type: string; jsonPath: string; description?: string; priority?: number; format?: string }

export interface ResourceInfo {
  group: string;
  version: string;
  /** Plural, e.g. 'pods'. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories?: string[];
  /** Has a status subresource: main writes keep status, status writes keep spec. */
  status: boolean;
  /** A status write also takes labels, annotations and finalizers (pods, nodes: their status strategies keep only spec). */
  statusWritesMetadata?: boolean;
  /** Bump metadata.generation on spec (non-metadata, non-status) changes. */
  generation: boolean;
  /** Extra subresources served (besides status), e.g. ['binding']. */
  extraSubresources?: string[];
  verbs?: string[];
  printerColumns?: PrinterColumn[];
  /**
   * The decoder's view of a body: drops undeclared fields in place and names them, and reports a
   * value of the wrong JSON type (built-ins; a CRD's types are its schema validation's job).
   */
  decode?: (obj: KObject) => DecodeResult;
  /** Built-ins: the client-node model that types the kind (decoding, OpenAPI). */
  model?: string;
  /** Custom resources: the served version's openAPIV3Schema (OpenAPI). */
  schema?: Record<string, unknown>;
  /** Schema validation (CRDs): returns field errors. */
  validate?: (obj: KObject) => StatusCause[];
  /** Applies server-side defaults on create (e.g. pod status). */
  defaultOnCreate?: (obj: KObject) => void;
  /** Append the default Age column to tables (default: only when no CRD printer columns are declared). */
  age?: boolean;
  /** Set for resources served from a CRD (its name). */
  crd?: string;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const apiVersionOf = (r: { group: string; version: string }): string => (r.group ? `${r.group}/${r.version}` : r.version);

function builtin(p: Partial<ResourceInfo> & Pick<ResourceInfo, 'resource' | 'kind'>): ResourceInfo {
  const model = modelNameOf(p.group ?? '', p.version ?? 'v1', p.kind);
  return {
    group: '', version: 'v1', singular: p.kind.toLowerCase(), listKind: `${p.kind}List`, namespaced: true,
    shortNames: [], status: false, generation: false, ...(model ? { model, decode: (o: KObject) => decodeTyped(o, model) } : {}), ...p,
  };
}

const col = (name: string, type: string, jsonPath: string, priority = 0): PrinterColumn => ({ name, type, jsonPath, priority });

export function builtinResources(): ResourceInfo[] {
  return [
    builtin({ resource: 'namespaces', kind: 'Namespace', namespaced: false, shortNames: ['ns'], status: true,
      printerColumns: [col('Status', 'string', '.status.phase')],
      defaultOnCreate: (o) => { o.status = { phase: 'Active', ...(o.status ?? {}) }; o.spec = { finalizers: ['kubernetes'], ...(o.spec ?? {}) }; } }),
    builtin({ resource: 'nodes', kind: 'Node', namespaced: false, shortNames: ['no'], status: true, statusWritesMetadata: true,
      printerColumns: [col('Status', 'string', '.status.conditions[?(@.type=="Ready")].status'), col('Internal-IP', 'string', '.status.addresses[?(@.type=="InternalIP")].address', 1), col('Instance-Type', 'string', '.metadata.labels.node\\.kubernetes\\.io/instance-type', 1)] }),
    builtin({ resource: 'pods', kind: 'Pod', shortNames: ['po'], status: true, statusWritesMetadata: true, categories: ['all'], extraSubresources: ['binding'],
      printerColumns: [col('Status', 'string', '.status.phase'), col('Node', 'string', '.spec.nodeName'), col('IP', 'string', '.status.podIP', 1), col('Scheduler', 'string', '.spec.schedulerName', 1)],
      defaultOnCreate: (o) => {
        o.spec ??= {};
        o.spec.schedulerName ??= 'default-scheduler';
        o.spec.restartPolicy ??= 'Always';
        o.spec.terminationGracePeriodSeconds ??= 30;
        o.spec.dnsPolicy ??= 'ClusterFirst';
        o.spec.serviceAccountName ??= 'default';
        o.spec.enableServiceLinks ??= true;
        o.spec.priority ??= 0;
        o.status = { phase: 'Pending', qosClass: 'BestEffort', ...(o.status ?? {}) };
      } }),
    builtin({ resource: 'bindings', kind: 'Binding', verbs: ['create'] }),
    builtin({ resource: 'serviceaccounts', kind: 'ServiceAccount', shortNames: ['sa'] }),
    builtin({ resource: 'configmaps', kind: 'ConfigMap', shortNames: ['cm'] }),
    builtin({ resource: 'secrets', kind: 'Secret' }),
    builtin({ resource: 'services', kind: 'Service', shortNames: ['svc'], status: true, categories: ['all'] }),
    builtin({ resource: 'endpoints', kind: 'Endpoints', singular: 'endpoints', shortNames: ['ep'] }),
    builtin({ resource: 'events', kind: 'Event', shortNames: ['ev'],
      printerColumns: [col('Type', 'string', '.type'), col('Reason', 'string', '.reason'), col('Object', 'string', '.involvedObject.name'), col('Message', 'string', '.message')] }),
    builtin({ group: 'events.k8s.io', resource: 'events', kind: 'Event', shortNames: ['ev'] }),
    builtin({ group: 'coordination.k8s.io', resource: 'leases', kind: 'Lease',
      printerColumns: [col('Holder', 'string', '.spec.holderIdentity')] }),
    builtin({ group: 'admissionregistration.k8s.io', resource: 'mutatingwebhookconfigurations', kind: 'MutatingWebhookConfiguration', namespaced: false,
      printerColumns: [col('Webhooks', 'integer', '.webhooks[*].name')] }),
    builtin({ group: 'admissionregistration.k8s.io', resource: 'validatingwebhookconfigurations', kind: 'ValidatingWebhookConfiguration', namespaced: false }),
    builtin({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false,
      shortNames: ['crd', 'crds'], status: true, generation: true, age: false,
      printerColumns: [col('Created At', 'string', '.metadata.creationTimestamp')] }),
    builtin({ group: 'apps', resource: 'deployments', kind: 'Deployment', shortNames: ['deploy'], status: true, generation: true, categories: ['all'] }),
    builtin({ group: 'apps', resource: 'daemonsets', kind: 'DaemonSet', shortNames: ['ds'], status: true, generation: true, categories: ['all'] }),
  ];
}

/** Pretty much every apiserver group lists these preferred versions. */
export class ResourceRegistry {
  private byKey = new Map<string, ResourceInfo>();

  constructor(initial: ResourceInfo[]) { for (const r of initial) this.add(r); }

  static key(group: string, resource: string): string { return group ? `${resource}.${group}` : resource; }

  add(r: ResourceInfo): void { this.byKey.set(ResourceRegistry.key(r.group, r.resource), r); }
  remove(group: string, resource: string): void { this.byKey.delete(ResourceRegistry.key(group, resource)); }
  all(): ResourceInfo[] { return [...this.byKey.values()]; }

  /** Exact lookup by group + plural (+ version when given). */
  lookup(group: string, resource: string, version?: string): ResourceInfo | undefined {
    const r = this.byKey.get(ResourceRegistry.key(group, resource));
    if (r && version && r.version !== version) return undefined;
    return r;
  }

  /** 'pods', 'po', 'leases.coordination.k8s.io', 'Pod', 'enipool'… like kubectl resolves names. */
  resolve(name: string | { group: string; resource: string; version?: string }): ResourceInfo | undefined {
    if (typeof name !== 'string') return this.lookup(name.group, name.resource, name.version);
    const direct = this.byKey.get(name);
    if (direct) return direct;
    const dot = name.indexOf('.');
    const [head, group] = dot >= 0 ? [name.slice(0, dot), name.slice(dot + 1)] : [name, undefined];
    const h = head.toLowerCase();
    const cands = this.all().filter((r) => (group === undefined || r.group === group)
      && (r.resource === h || r.singular === h || r.kind.toLowerCase() === h || r.shortNames.includes(h)));
    // Core wins over same-named resources in other groups (events), as kubectl prefers it.
    return cands.find((r) => r.group === '') ?? cands[0];
  }
}
