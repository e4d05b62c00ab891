import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { chartNodeOptions, renderValues } from './allocator-memory.ts';

test('renderValues: .Values references rendered from values, anything else refused', () => {
  const values = { allocator: { maxHeapMB: 256, name: 'a', on: true, obj: { x: 1 } } };
  const cases: Array<{ text: string; want?: string; err?: RegExp }> = [
    { text: '', want: '' },
    { text: '--max-old-space-size=200', want: '--max-old-space-size=200' },
    { text: '--max-old-space-size={{ .Values.allocator.maxHeapMB }}', want: '--max-old-space-size=256' },
    { text: '--a={{.Values.allocator.name}} --b={{ .Values.allocator.on }}', want: '--a=a --b=true' },
    { text: '--x={{ .Values.allocator.missing }}', err: /allocator\.missing/ },
    { text: '--x={{ .Values.allocator.obj }}', err: /no scalar default/ },
    { text: '--x={{ .Values.allocator.maxHeapMB | quote }}', err: /without helm/ },
  ];
  for (const c of cases) {
    if (c.err) assert.throws(() => renderValues(c.text, values), c.err, c.text);
    else assert.equal(renderValues(c.text, values), c.want, c.text);
  }
});

test("chartNodeOptions: the chart's allocator NODE_OPTIONS render to a heap cap V8 accepts", () => {
  assert.match(chartNodeOptions(join(import.meta.dirname, '..')), /^--max-old-space-size=\d+$/);
});
