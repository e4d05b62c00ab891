import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdmissionError, type AdmissionAttributes } from '../admission-seam.ts';
import { isExemptConfigurationResource, matchNamespaceSelector, matchObjectSelector, ruleMatches, type RuleAttributes, type RuleWithOperations } from './predicates.ts';
import { labelSelectorMatches } from './selector.ts';

const pods = { group: '', version: 'v1', resource: 'pods' };
const nsRes = { group: '', version: 'v1', resource: 'namespaces' };
const leases = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };
const nodes = { group: '', version: 'v1', resource: 'nodes' };

const bindingCreate: RuleAttributes = { operation: 'CREATE', resource: pods, subResource: 'binding', namespace: 'default', name: 'p' };
const podCreate: RuleAttributes = { operation: 'CREATE', resource: pods, namespace: 'default', name: 'p' };
const podStatus: RuleAttributes = { operation: 'UPDATE', resource: pods, subResource: 'status', namespace: 'default', name: 'p' };
const nodeUpdate: RuleAttributes = { operation: 'UPDATE', resource: nodes, name: 'n1' };
const leaseCreate: RuleAttributes = { operation: 'CREATE', resource: leases, namespace: 'kube-system', name: 'l' };
const nsCreate: RuleAttributes = { operation: 'CREATE', resource: nsRes, namespace: 'team-a', name: 'team-a' };

const core = (resources: string[], operations = ['CREATE'], extra: Partial<RuleWithOperations> = {}): RuleWithOperations =>
  ({ operations, apiGroups: [''], apiVersions: ['v1'], resources, ...extra });

test('ruleMatches: table', () => {
  const cases: Array<[string, RuleWithOperations, RuleAttributes, boolean]> = [
    ['pods/binding matches the binding subresource', core(['pods/binding']), bindingCreate, true],
    ['pods does not match pods/binding', core(['pods']), bindingCreate, false],
    ['pods/binding does not match the pod itself', core(['pods/binding']), podCreate, false],
    ['pods matches the pod', core(['pods']), podCreate, true],
    ['pods/* matches binding', core(['pods/*']), bindingCreate, true],
    ['pods/* matches status', core(['pods/*'], ['UPDATE']), podStatus, true],
    ['pods/* also matches the main resource (sub * covers empty)', core(['pods/*']), podCreate, true],
    ['* matches any main resource', core(['*']), podCreate, true],
    ['* does not match subresources', core(['*']), bindingCreate, false],
    ['*/* matches subresources', core(['*/*']), bindingCreate, true],
    ['*/* matches main resources', core(['*/*']), podCreate, true],
    ['*/binding matches pods/binding', core(['*/binding']), bindingCreate, true],
    ['*/status does not match binding', core(['*/status']), bindingCreate, false],
    ['operation mismatch', core(['pods'], ['UPDATE']), podCreate, false],
    ['operation *', core(['pods'], ['*']), podCreate, true],
    ['several operations', core(['pods'], ['UPDATE', 'CREATE']), podCreate, true],
    ['group mismatch', { operations: ['CREATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['pods'] }, podCreate, false],
    ['group *', { operations: ['CREATE'], apiGroups: ['*'], apiVersions: ['v1'], resources: ['leases'] }, leaseCreate, true],
    ['named group', { operations: ['CREATE'], apiGroups: ['coordination.k8s.io'], apiVersions: ['*'], resources: ['leases'] }, leaseCreate, true],
    ['version mismatch', { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v2'], resources: ['pods'] }, podCreate, false],
    ['empty lists match nothing', { operations: [], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }, podCreate, false],
    ['scope Namespaced: namespaced pod', core(['pods'], ['CREATE'], { scope: 'Namespaced' }), podCreate, true],
    ['scope Namespaced: cluster node', core(['nodes'], ['UPDATE'], { scope: 'Namespaced' }), nodeUpdate, false],
    ['scope Cluster: node', core(['nodes'], ['UPDATE'], { scope: 'Cluster' }), nodeUpdate, true],
    ['scope Cluster: pod', core(['pods'], ['CREATE'], { scope: 'Cluster' }), podCreate, false],
    ['scope Cluster: binding inherits pod scope', core(['pods/binding'], ['CREATE'], { scope: 'Cluster' }), bindingCreate, false],
    ['scope Namespaced: binding', core(['pods/binding'], ['CREATE'], { scope: 'Namespaced' }), bindingCreate, true],
    ['scope Cluster: a Namespace object (namespace attr set)', core(['namespaces'], ['CREATE'], { scope: 'Cluster' }), nsCreate, true],
    ['scope Namespaced: a Namespace object', core(['namespaces'], ['CREATE'], { scope: 'Namespaced' }), nsCreate, false],
    ['scope *', core(['nodes'], ['UPDATE'], { scope: '*' }), nodeUpdate, true],
    ['unknown scope', core(['nodes'], ['UPDATE'], { scope: 'Bogus' }), nodeUpdate, false],
  ];
  for (const [name, rule, attrs, want] of cases) assert.equal(ruleMatches(rule, attrs), want, name);
});

test('labelSelectorMatches: table', () => {
  const l = { app: 'web', tier: 'front' };
  const cases: Array<[string, Parameters<typeof labelSelectorMatches>[0], Record<string, string> | undefined, boolean]> = [
    ['undefined selects all', undefined, {}, true],
    ['{} selects all', {}, undefined, true],
    ['matchLabels hit', { matchLabels: { app: 'web' } }, l, true],
    ['matchLabels miss', { matchLabels: { app: 'db' } }, l, false],
    ['matchLabels on no labels', { matchLabels: { app: 'web' } }, undefined, false],
    ['In', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, l, true],
    ['In missing key', { matchExpressions: [{ key: 'x', operator: 'In', values: ['a'] }] }, l, false],
    ['NotIn hit', { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, l, false],
    ['NotIn on missing key matches', { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, {}, true],
    ['Exists', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, l, true],
    ['DoesNotExist on empty labels', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, undefined, true],
    ['DoesNotExist hit', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, l, false],
    ['AND of terms', { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, l, false],
  ];
  for (const [name, sel, labels, want] of cases) assert.equal(labelSelectorMatches(sel, labels), want, name);
  assert.throws(() => labelSelectorMatches({ matchExpressions: [{ key: 'a', operator: 'Has' }] }, {}), /not a valid operator/);
  assert.throws(() => labelSelectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }, {}), /non-empty/);
});

const attrs = (over: Partial<AdmissionAttributes>): AdmissionAttributes => ({
  operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: pods,
  requestKind: { group: '', version: 'v1', kind: 'Pod' }, requestResource: pods,
  namespace: 'default', name: 'p', dryRun: false, userInfo: { username: 'u', groups: [] }, ...over,
});

test('matchNamespaceSelector: namespace labels, own labels for Namespace objects, cluster scope, missing namespace', () => {
  const namespaces: Record<string, unknown> = { default: { metadata: { name: 'default', labels: { ipam: 'on' } } }, other: { metadata: { name: 'other' } } };
  const lookups = { getNamespace: (n: string) => namespaces[n] };
  const sel = { matchLabels: { ipam: 'on' } };
  assert.deepEqual(matchNamespaceSelector(sel, attrs({}), lookups), { matches: true });
  assert.deepEqual(matchNamespaceSelector(sel, attrs({ namespace: 'other' }), lookups), { matches: false });
  assert.deepEqual(matchNamespaceSelector(undefined, attrs({ namespace: 'other' }), lookups), { matches: true });
  // Cluster-scoped objects are never excluded by a namespaceSelector.
  assert.deepEqual(matchNamespaceSelector(sel, attrs({ namespace: undefined, resource: nodes, name: 'n1' }), lookups), { matches: true });
  // A Namespace CREATE is judged by its own labels, whatever the lister says.
  const nsObj = { metadata: { name: 'team-a', labels: { ipam: 'on' } } };
  assert.deepEqual(matchNamespaceSelector(sel, attrs({ resource: nsRes, namespace: undefined, name: 'team-a', object: nsObj }), lookups), { matches: true });
  assert.deepEqual(matchNamespaceSelector(sel, attrs({ resource: nsRes, namespace: 'team-a', name: 'team-a', object: { metadata: { name: 'team-a' } } }), lookups), { matches: false });
  const missing = matchNamespaceSelector(sel, attrs({ namespace: 'gone' }), lookups);
  assert.equal(missing.matches, false);
  assert.ok(missing.error instanceof AdmissionError);
  assert.equal(missing.error.code, 404);
  assert.equal(missing.error.message, 'namespaces "gone" not found');
  const bad = matchNamespaceSelector({ matchExpressions: [{ key: 'a', operator: 'Nope' }] }, attrs({}), lookups);
  assert.equal(bad.error?.code, 500);
});

test('matchObjectSelector: object or oldObject labels; a Binding has none', () => {
  const sel = { matchLabels: { app: 'web' } };
  const pod = { metadata: { name: 'p', labels: { app: 'web' } } };
  const binding = { kind: 'Binding', apiVersion: 'v1', metadata: { name: 'p', namespace: 'default', uid: 'u1' }, target: { kind: 'Node', name: 'n1' } };
  assert.equal(matchObjectSelector(sel, { object: pod }).matches, true);
  assert.equal(matchObjectSelector(sel, { object: { metadata: {} }, oldObject: pod }).matches, true);
  assert.equal(matchObjectSelector(sel, { object: undefined, oldObject: undefined }).matches, false);
  assert.equal(matchObjectSelector(sel, { object: binding }).matches, false, 'pod labels are invisible on pods/binding');
  assert.equal(matchObjectSelector({}, { object: binding }).matches, true);
  assert.equal(matchObjectSelector({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, { object: binding }).matches, true);
});

test('admission configuration objects are exempt', () => {
  assert.equal(isExemptConfigurationResource({ kind: { group: 'admissionregistration.k8s.io', version: 'v1', kind: 'MutatingWebhookConfiguration' } }), true);
  assert.equal(isExemptConfigurationResource({ kind: { group: '', version: 'v1', kind: 'Pod' } }), false);
});
