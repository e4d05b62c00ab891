// bench webhook measures real work: every binding it sends is allowed and reserves an address (a
// bench whose requests all fail would report fast, meaningless numbers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runWebhookBench } from '../bench/webhook.ts';

test('bench webhook: every binding is allowed and reserves one address', async () => {
  const r = await runWebhookBench({ durationMs: 400, concurrency: 4, binds: 20, bindConcurrency: 4 }) as {
    podCreate: { handler: { errors: number; requests: number } };
    binding: { sequential: { errors: number }; concurrent: { errors: number }; reservedInPool: number };
  };
  assert.ok(r.podCreate.handler.requests > 0);
  assert.equal(r.podCreate.handler.errors, 0);
  assert.equal(r.binding.sequential.errors, 0);
  assert.equal(r.binding.concurrent.errors, 0);
  assert.equal(r.binding.reservedInPool, 20);
});
