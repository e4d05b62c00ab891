import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deeperThan, FAST_PARSE_MAX_BYTES, parseNamesOnly } from './names-body.ts';

const b = (s: string) => Buffer.from(s);

test('parseNamesOnly: names-only bodies in one parse; everything else left to the scanner', () => {
  const cases: [string, string, unknown][] = [
    ['kube-scheduler names-only', '{"Pod":{"spec":{}},"Nodes":null,"NodeNames":["a","b"]}', { Pod: { spec: {} }, NodeNames: ['a', 'b'], Nodes: null }],
    ['Nodes absent, whitespace', ' {"Pod":{},"NodeNames":["a"]}\n', { Pod: {}, NodeNames: ['a'], Nodes: undefined }],
    ['keys in another case (Go matches case-insensitively)', '{"pod":{},"nodes":null,"nodenames":["a"]}', { Pod: {}, NodeNames: ['a'], Nodes: null }],
    ['exact key preferred', '{"nodenames":["x"],"Pod":{},"NodeNames":["a"]}', { Pod: {}, NodeNames: ['a'], Nodes: undefined }],
    ['full-node mode (ends with NodeNames null)', '{"Pod":{},"Nodes":{"items":[]},"NodeNames":null}', undefined],
    ['Nodes list with names last', '{"Pod":{},"Nodes":{"items":[]},"NodeNames":["a"]}', undefined],
    ['invalid JSON', '{"Pod":{,"NodeNames":["a"]}', undefined],
    ['trailing comma', '{"Pod":{},"NodeNames":["a",]}', undefined],
    ['not an object', '[["a"]]', undefined],
    ['data after the object', '{"Pod":{},"NodeNames":["a"]}x', undefined],
  ];
  for (const [name, body, want] of cases) assert.deepEqual(parseNamesOnly(b(body)), want, name);
});

test('parseNamesOnly: the scanner\'s depth bound and the size bound send bodies to the scanner', () => {
  const deep = (d: number) => '['.repeat(d) + ']'.repeat(d);
  assert.ok(parseNamesOnly(b(`{"Pod":{"x":${deep(511)}},"NodeNames":["a"]}`)), '512 levels: as the scanner allows');
  assert.equal(parseNamesOnly(b(`{"Pod":{"x":${deep(512)}},"NodeNames":["a"]}`)), undefined, '513 levels');
  assert.equal(parseNamesOnly(b(`{"Pod":{},"X":${deep(600)},"NodeNames":["a"]}`)), undefined, 'any top-level value');
  const names = JSON.stringify(Array.from({ length: Math.ceil(FAST_PARSE_MAX_BYTES / 10) }, (_, i) => `node-${i}`));
  assert.equal(parseNamesOnly(b(`{"Pod":{},"NodeNames":${names}}`)), undefined);
});

test('deeperThan counts containers, not scalars', () => {
  assert.equal(deeperThan('x', 0), false);
  assert.equal(deeperThan({}, 1), false);
  assert.equal(deeperThan({ a: [] }, 1), true);
  assert.equal(deeperThan({ a: [1, 'x', null] }, 2), false);
  assert.equal(deeperThan([[[]]], 2), true);
});
