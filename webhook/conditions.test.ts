import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, type SecurityGroupPolicy } from '../lib/enipool/types.ts';
import { candidatePolicies, createNeedsWork, podMatchConditions, selectorCel, SYSTEM_ANNOTATION_CEL, SYSTEM_ANNOTATION_CHANGE_CEL, updateConditionCel, type CreateScope } from './conditions.ts';

function sgp(ns: string, name: string, spec: Partial<SecurityGroupPolicy['spec']>, groups = ['sg-1']): SecurityGroupPolicy {
  return { apiVersion: API_VERSION, kind: 'SecurityGroupPolicy', metadata: { namespace: ns, name }, spec: { securityGroups: { groupIds: groups }, ...spec } };
}

const web = sgp('team-a', 'web', { podSelector: { matchLabels: { app: 'web' } } });
const bySA = sgp('team-b', 'by-sa', { serviceAccountSelector: { matchLabels: { role: 'db' } } });
const noGroups = sgp('team-c', 'empty', { podSelector: {} }, []);
const noSelector = sgp('team-c', 'none', {});
const bad = sgp('team-c', 'bad', { podSelector: { matchExpressions: [{ key: 'x', operator: 'In', values: [] }] } });
const policies = [web, bySA, noGroups, noSelector, bad];
const sched: CreateScope = { schedulerName: 'eni-sched', schedulerNamespaceSelector: { matchLabels: { eni: 'on' } } };

test('createNeedsWork: which pod CREATEs the webhook has anything to do for (table)', () => {
  const cases: Array<[string, Parameters<typeof createNeedsWork>[0], string, CreateScope, boolean]> = [
    ['ordinary pod, no policy in its namespace', { labels: { app: 'web' } }, 'other', {}, false],
    ['ordinary pod, policy in its namespace selects other labels', { labels: { app: 'api' } }, 'team-a', {}, false],
    ['pod a podSelector selects', { labels: { app: 'web' } }, 'team-a', {}, true],
    ['service-account-only policy: any pod of the namespace', {}, 'team-b', {}, true],
    ['policies without groups, without selectors or malformed select nothing', { labels: { x: 'y' } }, 'team-c', {}, false],
    ['a spoofed system annotation is stripped', { annotations: { 'eni-ipam.io/allocation': '{}' } }, 'other', {}, true],
    ['the pod-eni annotation too', { annotations: { 'vpc.amazonaws.com/pod-eni': '[]' } }, 'other', {}, true],
    ['other annotations are not ours', { annotations: { 'eni-ipam.io': 'x', 'example.com/a': 'b' } }, 'other', {}, false],
    ['hostNetwork pod a policy selects: nothing to do', { labels: { app: 'web' }, hostNetwork: true }, 'team-a', {}, false],
    ['hostNetwork pod with a system annotation: stripped', { hostNetwork: true, annotations: { 'eni-ipam.io/x': '' } }, 'other', {}, true],
    ['scheduler rule configured, default scheduler', { schedulerName: 'default-scheduler' }, 'other', sched, true],
    ['scheduler rule configured, no scheduler name', {}, 'other', sched, true],
    ['scheduler rule configured, pod names its own scheduler', { schedulerName: 'custom' }, 'other', sched, false],
    ['scheduler name without a namespace selector does nothing', {}, 'other', { schedulerName: 'eni-sched' }, false],
  ];
  for (const [name, pod, ns, scope, want] of cases) assert.equal(createNeedsWork(pod, ns, policies, scope), want, name);
});

test('candidatePolicies: only what could still select the pod before its service account is known', () => {
  const both = sgp('team-b', 'both', { podSelector: { matchLabels: { app: 'db' } }, serviceAccountSelector: { matchLabels: { role: 'db' } } });
  assert.deepEqual(candidatePolicies('team-b', { app: 'web' }, [bySA, both]).map((p) => p.metadata.name), ['by-sa']);
  assert.deepEqual(candidatePolicies('team-b', { app: 'db' }, [bySA, both]).map((p) => p.metadata.name), ['by-sa', 'both']);
  assert.deepEqual(candidatePolicies('team-a', { app: 'db' }, [bySA, both]), [], 'other namespaces never count');
});

test('selectorCel: label selectors as CEL over object.metadata.labels (table)', () => {
  const L = 'object.metadata.labels';
  const cases: Array<[Parameters<typeof selectorCel>[0], string | undefined]> = [
    [{}, 'true'],
    [{ matchLabels: { app: 'web' } }, `((has(${L}) && 'app' in ${L}) && ${L}['app'] in ['web'])`],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['a', 'b'] }] }, `!((has(${L}) && 'tier' in ${L}) && ${L}['tier'] in ['a', 'b'])`],
    [{ matchExpressions: [{ key: 'k', operator: 'Exists' }, { key: 'j', operator: 'DoesNotExist' }] }, `(has(${L}) && 'k' in ${L}) && !(has(${L}) && 'j' in ${L})`],
    [{ matchLabels: { app: "it's" } }, undefined],
    [{ matchExpressions: [{ key: 'k', operator: 'Gt' as never, values: ['1'] }] }, undefined],
  ];
  for (const [sel, want] of cases) assert.equal(selectorCel(sel), want, JSON.stringify(sel));
});

test('podMatchConditions: system-annotation CREATEs and changes always sent; policies by namespace; coarser fallbacks past the limit', () => {
  const [c] = podMatchConditions(policies, {});
  assert.ok(c);
  assert.equal(c.name, 'needs-eni-ipam');
  assert.ok(c.expression.startsWith(`request.operation == 'CREATE' ? (${SYSTEM_ANNOTATION_CEL} || `), c.expression);
  assert.ok(c.expression.endsWith(`) : (request.operation != 'UPDATE' || ${SYSTEM_ANNOTATION_CHANGE_CEL})`), c.expression);
  assert.match(c.expression, /\(request\.namespace == 'team-a' && \(+has\(object\.metadata\.labels\) && 'app' in/);
  assert.match(c.expression, /\|\| request\.namespace == 'team-b'\) : /, 'a service-account-only policy sends its whole namespace');
  assert.doesNotMatch(c.expression, /team-c/, 'policies that select nothing send nothing');
  assert.deepEqual(podMatchConditions([...policies].reverse(), {}), [c], 'independent of the policies\' order');
  assert.deepEqual(podMatchConditions([], {}), [{ name: c.name, expression: `request.operation == 'CREATE' ? (${SYSTEM_ANNOTATION_CEL}) : (request.operation != 'UPDATE' || ${SYSTEM_ANNOTATION_CHANGE_CEL})` }], 'no policy: only spoofed annotations are sent');
  assert.match(podMatchConditions([], sched)[0]!.expression, /\|\| \(!has\(object\.spec\.schedulerName\) \|\| object\.spec\.schedulerName in \['', 'default-scheduler'\]\)\) : /);
  const unsafe = sgp('team-d', 'quote', { podSelector: { matchLabels: { app: "it's" } } });
  assert.match(podMatchConditions([unsafe], {})[0]!.expression, /\|\| request\.namespace == 'team-d'\) : /, 'a selector CEL cannot carry sends its namespace');

  const many = Array.from({ length: 200 }, (_, i) => sgp(`ns-${i % 20}`, `p${i}`, { podSelector: { matchLabels: { app: `app-${i}` } } }));
  const fine = podMatchConditions(many, {}, { maxLength: 1_000_000 })[0]!.expression;
  const coarse = podMatchConditions(many, {})[0]!.expression;
  assert.ok(fine.length > 16_384);
  assert.match(coarse, /\|\| request\.namespace in \['ns-0', 'ns-1', 'ns-10', [^\]]*'ns-9'\]\) : /, 'past the limit: by namespace only');
  assert.deepEqual(podMatchConditions(many, {}, { maxLength: 100 }), [], 'past even that: no condition, every pod is sent');
});

test('updateConditionCel: system users\' UPDATEs are not sent; a username CEL cannot carry keeps everyone\'s sent (table)', () => {
  const alloc = 'system:serviceaccount:eni-ipam:eni-ipam-allocator';
  const cases: Array<[string, readonly string[] | undefined, string]> = [
    ['no system users', undefined, SYSTEM_ANNOTATION_CHANGE_CEL],
    ['empty list', [], SYSTEM_ANNOTATION_CHANGE_CEL],
    ['one service account', [alloc], `(!(request.userInfo.username in ['${alloc}']) && (${SYSTEM_ANNOTATION_CHANGE_CEL}))`],
    ['sorted and de-duplicated', ['b@x', 'a', 'b@x'], `(!(request.userInfo.username in ['a', 'b@x']) && (${SYSTEM_ANNOTATION_CHANGE_CEL}))`],
    ['a quote: not expressed', [alloc, "o'brien"], SYSTEM_ANNOTATION_CHANGE_CEL],
    ['a space: not expressed', ['a b'], SYSTEM_ANNOTATION_CHANGE_CEL],
    ['an empty name: not expressed', [''], SYSTEM_ANNOTATION_CHANGE_CEL],
  ];
  for (const [name, users, want] of cases) assert.equal(updateConditionCel(users), want, name);
  assert.ok(podMatchConditions([], { systemUsers: [alloc] })[0]!.expression.endsWith(`: (request.operation != 'UPDATE' || ${updateConditionCel([alloc])})`));
});
