import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FencedError, guardedStep, isCrash, mustStop, runStep } from './crash.ts';

test('runStep marks what the hook throws as a crash; other errors are not', async () => {
  const boom = new Error('boom');
  await assert.rejects(runStep(() => { throw boom; }, 'attach', {}), (e) => e === boom);
  assert.equal(isCrash(boom), true);
  assert.equal(mustStop(boom), true);
  assert.equal(isCrash(new Error('EC2 said no')), false);
  assert.equal(isCrash(undefined), false);
  await runStep(undefined, 'attach', {});
  const seen: string[] = [];
  await runStep((s, d) => { seen.push(`${s}:${JSON.stringify(d)}`); }, 'create', { n: 1 });
  assert.deepEqual(seen, ['create:{"n":1}']);
});

test('guardedStep fences a replica that may no longer act, before the hook runs', async () => {
  let alive = true;
  const calls: string[] = [];
  const step = guardedStep(() => alive, (s) => { calls.push(s); });
  await step('grow', {});
  alive = false;
  await assert.rejects(async () => step('release', {}), (e) => e instanceof FencedError && /stopped before release/.test(e.message));
  assert.deepEqual(calls, ['grow']);
  assert.equal(mustStop(new FencedError('x')), true);
});
