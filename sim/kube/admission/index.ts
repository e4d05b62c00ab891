// kube-sim's admission chain: the MutatingAdmitter (webhooks over HTTPS) and its pure predicates.
export { MutatingAdmitter, orderedWebhooks } from './mutating.ts';
export type { MutatingAdmitterOptions, MutatingWebhook, ServiceReference, ServiceResolver, WebhookEntry } from './mutating.ts';
export { ruleMatches, rulesMatch, matchNamespaceSelector, matchObjectSelector, isExemptConfigurationResource } from './predicates.ts';
export type { RuleWithOperations, RuleAttributes, SelectorDecision } from './predicates.ts';
export { labelSelectorMatches, isEmptySelector } from './selector.ts';
export { compileCel, CelError } from './cel.ts';
export type { LabelSelector, LabelSelectorRequirement } from './selector.ts';
export { buildAdmissionReview, verifyAdmissionResponse, denialStatus, ADMISSION_API_VERSION } from './review.ts';
