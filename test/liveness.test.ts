// Issue 11 item 5: liveness says "restart me" when the work stops moving — the allocator leader's
// reconcile loop stalls, or the webhook's informers can no longer list or watch — and only then.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../lib/clock.ts';
import { startEnv, waitFor } from './allocator-helpers.ts';
import { startWebhookEnv } from './webhook-helpers.ts';

test('webhook: /healthz turns 503 naming the informer once the API has been unreachable for the stall bound', async () => {
  const env = await startWebhookEnv({ clock: realClock(), webhook: { certPollMs: 3_600_000, livenessStallMs: 1_000 } });
  const healthz = async () => {
    // The webhook is HTTPS with a private CA: use node's https through the helper's CA.
    const https = await import('node:https');
    return new Promise<{ status: number; body: string }>((resolve, reject) => {
      https.get(`${env.hook.url}/healthz`, { ca: env.ca.certPem }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      }).on('error', reject);
    });
  };
  try {
    assert.deepEqual(await healthz(), { status: 200, body: 'ok' });
    await env.sim.close(); // the API goes away: every informer fails from now on
    const r = await waitFor('webhook not live', async () => { const h = await healthz(); return h.status === 503 ? h : undefined; }, 30_000, 100);
    assert.match(r.body, /not live: informer \w+ has not listed or watched successfully for \d+ s/);
  } finally {
    await env.hook.close();
    env.admitter.close();
  }
});

test('allocator: live while reconciles finish; not live once the leader\'s loop has stalled for the bound', async () => {
  const env = await startEnv({ speed: 20 });
  let release = () => {};
  try {
    await env.join('m5.large');
    let stall = false;
    const hung: (() => void)[] = [];
    const a = await env.start({
      livenessStallMs: 30_000,
      // A reconcile that does not return once `stall` is set (a hung EC2 call, a deadlock); released
      // at the end so the allocator can stop.
      onStep: async () => { if (stall) await new Promise<void>((r) => hung.push(r)); },
    });
    release = () => { stall = false; for (const r of hung.splice(0)) r(); };
    await waitFor('leading', () => a.isLeader(), 30_000);
    await a.idle();
    assert.deepEqual(a.live(), { ok: true });
    stall = true;
    await env.join('m5.large'); // new work for the stuck loop
    a.resync();
    const r = await waitFor('allocator not live', () => { const l = a.live(); return l.ok ? undefined : l; }, 60_000, 50);
    assert.match(r.reason!, /leading, \d+ nodes waiting or in progress, no reconcile finished for \d+ s/);
    release();
    await waitFor('live again', () => a.live().ok, 60_000, 50);
  } finally {
    release();
    await env.close();
  }
});
