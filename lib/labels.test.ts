import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSelector, selectorProblem, selectorToString } from './labels.ts';
import type { LabelSelector } from './enipool/types.ts';

test('matchesSelector: matchLabels and matchExpressions, table', () => {
  const app = { app: 'web', tier: 'front' };
  const cases: { name: string; sel: LabelSelector | undefined; labels: Record<string, string> | undefined; want: boolean }[] = [
    { name: 'absent selector matches nothing', sel: undefined, labels: app, want: false },
    { name: 'empty selector matches everything', sel: {}, labels: app, want: true },
    { name: 'empty selector matches unlabelled', sel: {}, labels: undefined, want: true },
    { name: 'matchLabels hit', sel: { matchLabels: { app: 'web' } }, labels: app, want: true },
    { name: 'matchLabels value miss', sel: { matchLabels: { app: 'db' } }, labels: app, want: false },
    { name: 'matchLabels key miss', sel: { matchLabels: { zone: 'a' } }, labels: app, want: false },
    { name: 'matchLabels all must match', sel: { matchLabels: { app: 'web', tier: 'back' } }, labels: app, want: false },
    { name: 'In hit', sel: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'web'] }] }, labels: app, want: true },
    { name: 'In miss', sel: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] }, labels: app, want: false },
    { name: 'In on absent key', sel: { matchExpressions: [{ key: 'x', operator: 'In', values: ['db'] }] }, labels: app, want: false },
    { name: 'NotIn hit', sel: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] }, labels: app, want: false },
    { name: 'NotIn on absent key matches', sel: { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, labels: app, want: true },
    { name: 'Exists', sel: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, labels: app, want: true },
    { name: 'Exists miss', sel: { matchExpressions: [{ key: 'x', operator: 'Exists' }] }, labels: app, want: false },
    { name: 'DoesNotExist', sel: { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels: app, want: true },
    { name: 'DoesNotExist miss', sel: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels: app, want: false },
    { name: 'labels AND expressions', sel: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['back'] }] }, labels: app, want: false },
    { name: 'malformed In without values fails closed', sel: { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] }, labels: app, want: false },
    { name: 'malformed Exists with values fails closed', sel: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['web'] }] }, labels: app, want: false },
    { name: 'unknown operator fails closed', sel: { matchExpressions: [{ key: 'app', operator: 'Gt' as 'In', values: ['1'] }] }, labels: app, want: false },
    { name: 'prototype keys are not labels', sel: { matchLabels: { constructor: 'x' } }, labels: {}, want: false },
  ];
  for (const c of cases) assert.equal(matchesSelector(c.sel, c.labels), c.want, c.name);
});

test('selectorProblem names the bad expression', () => {
  assert.equal(selectorProblem({ matchLabels: { a: 'b' } }), undefined);
  assert.match(selectorProblem({ matchExpressions: [{ key: 'k', operator: 'In' }] })!, /k In.*non-empty/);
  assert.match(selectorProblem({ matchExpressions: [{ key: 'k', operator: 'DoesNotExist', values: ['x'] }] })!, /must be empty/);
  assert.match(selectorProblem({ matchExpressions: [{ key: '', operator: 'Exists' }] })!, /key is required/);
});

test('selectorToString renders the API string form', () => {
  assert.equal(selectorToString({}), '');
  assert.equal(
    selectorToString({ matchLabels: { b: '2', a: '1' }, matchExpressions: [
      { key: 'c', operator: 'In', values: ['y', 'x'] }, { key: 'd', operator: 'NotIn', values: ['z'] },
      { key: 'e', operator: 'Exists' }, { key: 'f', operator: 'DoesNotExist' }] }),
    'a=1,b=2,c in (x,y),d notin (z),e,!f',
  );
});
