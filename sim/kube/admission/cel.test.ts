import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCel } from './cel.ts';

const vars = {
  request: { operation: 'CREATE', namespace: 'default', name: 'p1', subResource: 'binding', userInfo: { username: 'system:serviceaccount:kube-system:eni-scheduler', groups: ['system:serviceaccounts'] } },
  object: { kind: 'Binding', metadata: { name: 'p1', labels: { app: 'web' } }, target: { kind: 'Node', name: 'node-a' } },
  oldObject: null,
};

test('CEL subset: evaluates to the expected value (table)', () => {
  const cases: Array<[string, unknown]> = [
    ["request.userInfo.username == 'system:serviceaccount:kube-system:eni-scheduler'", true],
    ['request.userInfo.username != "system:kube-scheduler"', true],
    ["request.namespace in ['kube-system', 'kube-public']", false],
    ["!(request.namespace in ['kube-system', 'kube-public'])", true],
    ["'system:serviceaccounts' in request.userInfo.groups", true],
    ["has(object.metadata.labels) && 'app' in object.metadata.labels", true],
    ['has(object.metadata.annotations)', false],
    ["object.metadata.labels['app'] == 'web'", true],
    ["request.userInfo.username.startsWith('system:serviceaccount:')", true],
    ["object.target.name.endsWith('-a') && object.target.name.contains('node')", true],
    ["object.target.name.matches('^node-[a-z]$')", true],
    ['oldObject == null', true],
    ["object.metadata.labels.exists(k, k.startsWith('ap'))", true],
    ["object.metadata.labels.exists(k, k == 'nope')", false],
    ["object.metadata.labels.all(k, object.metadata.labels[k] == 'web')", true],
    ['request.userInfo.groups.exists(g, g.endsWith(":serviceaccounts"))', true],
    ['[1, 2].all(x, x > 1)', false],
    ["object.metadata.labels.exists(k, object.no.such || k == 'app')", true],
    ["object.metadata.labels.exists(k, object.no.such)", 'error'],
    ["object.metadata.exists('x', true)", 'error'],
    ['size(request.userInfo.groups) == 1 && request.userInfo.groups.size() >= 1', true],
    ['1 + 2 * 0 == 3', 'error'],
    ['1 + 2 == 3 && -1 < 0', true],
    ["request.operation == 'CREATE' ? true : false", true],
    ['false && object.no.such.field', false],
    ['object.no.such.field || true', true],
    ['object.no.such.field == 1', 'error'],
    ['authorizer.group("").resource("pods").check("get").allowed()', 'error'],
    ["'a' < 'b' && 2 >= 2.0", true],
    ['[1, 2] == [1, 2]', true],
  ];
  for (const [expr, want] of cases) {
    let got: unknown;
    try { got = compileCel(expr)(vars); } catch { got = 'error'; }
    assert.deepEqual(got, want, expr);
  }
});

test('CEL subset: syntax errors and misused macros are rejected', () => {
  for (const bad of ['a ==', "'unterminated", 'a @ b', '(a', 'a.', 'has(a)']) {
    assert.throws(() => compileCel(bad)({ a: 1 }), /Syntax error|unterminated|invalid argument/, bad);
  }
});
