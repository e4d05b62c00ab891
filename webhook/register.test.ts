import { test } from 'node:test';
import assert from 'node:assert/strict';
import { covers } from './register.ts';

test('covers: what the webhook wants holds in the live configuration (table)', () => {
  const cond = [{ name: 'needs-eni-ipam', expression: 'true' }];
  const cases: Array<[string, unknown, unknown, boolean]> = [
    ['equal', { a: 1 }, { a: 1 }, true],
    ['the apiserver adds defaults', { a: 1 }, { a: 1, matchPolicy: 'Equivalent' }, true],
    ['a field differs', { a: 1 }, { a: 2 }, false],
    ['a wanted field is missing', { a: 1, b: 2 }, { a: 1 }, false],
    ['lists compare element by element, same length', [{ a: 1 }], [{ a: 1, d: 0 }], true],
    ['a longer list is drift', [{ a: 1 }], [{ a: 1 }, { a: 2 }], false],
    ['an empty list holds where the apiserver dropped it', { matchConditions: [] }, {}, true],
    ['an empty list does not hold over a non-empty one (conditions to remove)', { matchConditions: [] }, { matchConditions: cond }, false],
    ['conditions written', { matchConditions: cond }, { matchConditions: cond }, true],
    ['a changed expression is drift', { matchConditions: cond }, { matchConditions: [{ name: 'needs-eni-ipam', expression: 'false' }] }, false],
  ];
  for (const [name, want, have, ok] of cases) assert.equal(covers(want, have), ok, name);
});
