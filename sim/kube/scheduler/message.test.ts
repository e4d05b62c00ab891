import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitErrorMessage, NO_NODES_MESSAGE } from './message.ts';

test('fitErrorMessage table', () => {
  const cases: Array<{ all: number; reasons: Record<string, string[]>; want: string }> = [
    { all: 0, reasons: {}, want: NO_NODES_MESSAGE },
    { all: 5, reasons: { a: ['Insufficient cpu'], b: ['Insufficient cpu'], c: ['Insufficient cpu'], d: ['no free IP in subnet'], e: ['no free IP in subnet'] },
      want: '0/5 nodes are available: 2 no free IP in subnet, 3 Insufficient cpu.' },
    { all: 2, reasons: { a: ['Insufficient cpu', 'Insufficient memory'], b: ['Insufficient memory'] },
      want: '0/2 nodes are available: 1 Insufficient cpu, 2 Insufficient memory.' },
    { all: 3, reasons: { a: ['x', 'x'] }, want: '0/3 nodes are available: 1 x.' },
  ];
  for (const t of cases) assert.equal(fitErrorMessage(t.all, new Map(Object.entries(t.reasons))), t.want);
});
