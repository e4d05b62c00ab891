import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJsonApp, jsonErrorHandler, listen, makeAjv, compileValidator, validationMessage } from './http.ts';
import { silentLogger } from './log.ts';

test('JSON app: oversized → 413, malformed → 400, validation message names the field', async () => {
  const logger = silentLogger();
  const app = createJsonApp({ bodyLimit: '1kb', logger });
  const v = compileValidator<{ a: number }>(makeAjv(), { type: 'object', required: ['a'], properties: { a: { type: 'number' } } }, 'body');
  app.post('/x', (req, res) => {
    if (!v(req.body)) { res.status(400).json({ error: validationMessage(v) }); return; }
    res.json({ ok: req.body.a });
  });
  app.use(jsonErrorHandler(logger));
  const srv = await listen(app, {});
  try {
    const post = (body: string) => fetch(`${srv.url}/x`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    let r = await post(JSON.stringify({ a: 1 }));
    assert.equal(r.status, 200);
    r = await post('x'.repeat(5000));
    assert.equal(r.status, 413);
    assert.match(((await r.json()) as { error: string }).error, /too large/);
    r = await post('{"a":');
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /not valid JSON/);
    r = await post(JSON.stringify({ a: 'no' }));
    assert.equal(r.status, 400);
    assert.match(((await r.json()) as { error: string }).error, /body\.a must be number/);
    r = await fetch(`${srv.url}/healthz`);
    assert.equal(r.status, 200);
  } finally {
    await srv.close();
  }
});
