// The seam between kube-sim's request handling and the mutating admission chain (built in
// sim/kube/admission/). kube-sim calls `admit` for every CREATE/UPDATE/DELETE of a resource or
// subresource (PATCH is admitted as UPDATE on the patched object, pods/binding as CREATE of the
// Binding), before persisting, exactly where kube-apiserver runs mutating admission.

export interface GroupVersionKind { group: string; version: string; kind: string }
export interface GroupVersionResource { group: string; version: string; resource: string }

export interface UserInfo { username: string; uid?: string; groups: string[]; extra?: Record<string, string[]> }

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

export interface AdmissionAttributes {
  operation: AdmissionOperation;
  kind: GroupVersionKind;
  resource: GroupVersionResource;
  /** e.g. 'binding', 'status'; absent for the main resource. */
  subResource?: string;
  requestKind: GroupVersionKind;
  requestResource: GroupVersionResource;
  requestSubResource?: string;
  namespace?: string;
  /** Empty on CREATE with generateName (the name is not generated yet, as in the apiserver). */
  name?: string;
  /** The new object (a deep copy the admitter may mutate or replace); undefined for DELETE. */
  object?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The stored object; undefined for CREATE. */
  oldObject?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  dryRun: boolean;
  userInfo: UserInfo;
  /** CreateOptions / UpdateOptions / DeleteOptions as the apiserver sends them. */
  options?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Read access the admission chain needs (namespaceSelector, the registered webhooks). */
export interface AdmissionLookups {
  getNamespace(name: string): any | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  listMutatingWebhookConfigurations(): any[]; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface AdmissionResult {
  /** The (possibly mutated) object to persist; undefined = keep attrs.object. */
  object?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Sent to the client as `Warning: 299 - "<text>"` headers. */
  warnings: string[];
}

export interface Admitter {
  admit(a: AdmissionAttributes, lookups: AdmissionLookups): Promise<AdmissionResult>;
}

/** Thrown by an Admitter to reject the request; becomes a Status with this code and reason. */
export class AdmissionError extends Error {
  constructor(readonly code: number, readonly reason: string, message: string) {
    super(message);
    this.name = 'AdmissionError';
  }
}

/** Admits everything unchanged; used when no admitter is injected. */
export const noopAdmitter: Admitter = {
  async admit() { return { warnings: [] }; },
};
