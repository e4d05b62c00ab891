import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBoolean, parseCommandLine, parseDuration, parseFlags, usage, type CommandSpec } from './flags.ts';

const spec = {
  command: 'demo',
  summary: 'a command for the table',
  envPrefix: 'DEMO_',
  flags: {
    name: { kind: 'string', required: true, help: 'a name' },
    mode: { kind: 'string', choices: ['a', 'b'], default: 'a', help: 'a mode' },
    count: { kind: 'int', min: 1, max: 10, default: 3, help: 'a count' },
    ratio: { kind: 'number', help: 'a ratio' },
    wait: { kind: 'duration', default: 5000, max: 60_000, help: 'a wait' },
    tags: { kind: 'list', help: 'tags' },
    fast: { kind: 'boolean', help: 'go fast' },
    safe: { kind: 'boolean', default: true, help: 'stay safe' },
    region: { kind: 'string', env: 'AWS_REGION', help: 'a region' },
    secret: { kind: 'string', env: false, help: 'no env' },
  },
} as const satisfies CommandSpec;

type Row = { argv: string[]; env?: Record<string, string>; want: Record<string, unknown> | 'help' | RegExp };
const rows: Row[] = [
  { argv: ['--name=x'], want: { name: 'x', mode: 'a', count: 3, ratio: undefined, wait: 5000, tags: undefined, fast: false, safe: true } },
  { argv: ['--name', 'x', '--count', '7', '--ratio=0.5'], want: { name: 'x', count: 7, ratio: 0.5 } },
  // Strict booleans: bare, =true, =false, =1, =0; nothing else.
  { argv: ['--name=x', '--fast'], want: { fast: true } },
  { argv: ['--name=x', '--fast=true', '--safe=false'], want: { fast: true, safe: false } },
  { argv: ['--name=x', '--fast=1', '--safe=0'], want: { fast: true, safe: false } },
  { argv: ['--name=x', '--fast=FALSE'], want: { fast: false } },
  { argv: ['--name=x', '--fast=fasle'], want: /--fast must be true or false, got "fasle"/ },
  { argv: ['--name=x', '--fast=yes'], want: /--fast must be true or false/ },
  { argv: ['--name=x', '--fast', 'false'], want: /unexpected argument "false"/ },
  // Durations: a bare number is seconds.
  { argv: ['--name=x', '--wait=30'], want: { wait: 30_000 } },
  { argv: ['--name=x', '--wait=250ms'], want: { wait: 250 } },
  { argv: ['--name=x', '--wait=1m'], want: { wait: 60_000 } },
  { argv: ['--name=x', '--wait=2m'], want: /--wait must be <= 60000 ms/ },
  { argv: ['--name=x', '--wait=soon'], want: /--wait must be a duration/ },
  // Numbers and bounds.
  { argv: ['--name=x', '--count=0'], want: /--count must be >= 1, got "0"/ },
  { argv: ['--name=x', '--count=2.5'], want: /--count must be an integer/ },
  { argv: ['--name=x', '--count='], want: /--count must be an integer/ },
  { argv: ['--name=x', '--ratio=abc'], want: /--ratio must be a number/ },
  { argv: ['--name=x', '--mode=c'], want: /--mode must be one of a, b, got "c"/ },
  // Lists: comma-separated, and repeatable.
  { argv: ['--name=x', '--tags=a, b,,c'], want: { tags: ['a', 'b', 'c'] } },
  { argv: ['--name=x', '--tags=a', '--tags', 'b'], want: { tags: ['a', 'b'] } },
  { argv: ['--name=x', '--name=y'], want: /--name given 2 times/ },
  // Unknown flags are named; a missing value is an error, not the next flag.
  { argv: ['--name=x', '--nmae=y'], want: /^unknown flag --nmae$/ },
  { argv: ['--name=x', '-q'], want: /^unknown flag -q$/ },
  { argv: ['--name'], want: /--name needs a value/ },
  { argv: ['--name', '--fast'], want: /--name needs a value/ },
  { argv: ['--name=--odd'], want: { name: '--odd' } },
  { argv: [], want: /--name is required/ },
  { argv: ['x'], want: /unexpected argument "x"/ },
  // Help wins over everything else that parses, so the chart test can check args then ask for help.
  { argv: ['--name=x', '--help'], want: 'help' },
  { argv: ['-h'], want: 'help' },
  { argv: ['--help=1'], want: /--help takes no value/ },
  // Environment fallbacks: <prefix><NAME>, or the flag's own variable; argv wins; empty = unset.
  { argv: [], env: { DEMO_NAME: 'e', DEMO_COUNT: '9', DEMO_FAST: 'true' }, want: { name: 'e', count: 9, fast: true } },
  { argv: ['--name=a'], env: { DEMO_NAME: 'e' }, want: { name: 'a' } },
  { argv: ['--name=a'], env: { DEMO_FAST: 'fasle' }, want: /DEMO_FAST \(env for --fast\) must be true or false/ },
  { argv: ['--name=a'], env: { AWS_REGION: 'eu-west-1', DEMO_REGION: 'no' }, want: { region: 'eu-west-1' } },
  { argv: ['--name=a'], env: { DEMO_SECRET: 's' }, want: { secret: undefined } },
  { argv: ['--name=a'], env: { DEMO_COUNT: '' }, want: { count: 3 } },
];

for (const r of rows) {
  test(`parseFlags ${JSON.stringify(r.argv)}${r.env ? ` env ${JSON.stringify(r.env)}` : ''}`, () => {
    const got = parseFlags(spec, r.argv, r.env ?? {});
    if (r.want === 'help') { assert.equal(got.kind, 'help'); return; }
    if (r.want instanceof RegExp) {
      assert.equal(got.kind, 'error', JSON.stringify(got));
      if (got.kind === 'error') assert.match(got.message, r.want);
      return;
    }
    assert.equal(got.kind, 'ok', JSON.stringify(got));
    if (got.kind !== 'ok') return;
    for (const [k, v] of Object.entries(r.want)) assert.deepEqual((got.values as Record<string, unknown>)[k], v, k);
  });
}

test('given tells flags set by argv or env from defaults', () => {
  const got = parseFlags(spec, ['--name=x'], { DEMO_COUNT: '4' });
  assert.equal(got.kind, 'ok');
  if (got.kind === 'ok') assert.deepEqual([...got.given].sort(), ['count', 'name']);
});

test('parseBoolean and parseDuration', () => {
  for (const [s, b] of [['true', true], ['True', true], ['1', true], ['false', false], ['0', false], ['fasle', undefined], ['', undefined], ['yes', undefined]] as const) {
    assert.equal(parseBoolean(s), b, s);
  }
  for (const [s, ms] of [['5', 5000], ['5s', 5000], ['0.5', 500], ['500ms', 500], ['2m', 120_000], ['1h', 3_600_000], ['-1', undefined], ['5 s', undefined], ['', undefined]] as const) {
    assert.equal(parseDuration(s), ms, s);
  }
});

test('usage lists every flag with its default and environment variable', () => {
  const u = usage(spec);
  assert.match(u, /^usage: eni-ipam demo \[flags\]/);
  for (const f of Object.keys(spec.flags)) assert.match(u, new RegExp(`--${f}\\b`), f);
  assert.match(u, /--count N +a count \(default 3; env DEMO_COUNT\)/);
  assert.match(u, /--wait D +a wait \(default 5s; env DEMO_WAIT\)/);
  assert.match(u, /--name VALUE +a name \(required; env DEMO_NAME\)/);
  assert.match(u, /--mode a\|b/);
  assert.match(u, /env AWS_REGION/);
  assert.doesNotMatch(u, /DEMO_SECRET/);
});

test('parseCommandLine: exit 0 with usage on --help, exit 2 naming the unknown flag', () => {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (s: string) => out.push(s), err: (s: string) => err.push(s) };
  assert.equal(parseCommandLine(spec, ['--help'], {}, io), 0);
  assert.match(out.join('\n'), /usage: eni-ipam demo/);
  assert.equal(parseCommandLine(spec, ['--name=x', '--bogus'], {}, io), 2);
  assert.match(err.join('\n'), /^eni-ipam demo: unknown flag --bogus/);
  const ok = parseCommandLine(spec, ['--name=x'], {}, io);
  assert.ok(typeof ok === 'object' && ok.values.name === 'x');
});
