import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import { agentKey, KeepAliveAgents } from './agents.ts';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('agentKey: same protocol and TLS settings share a key; anything that changes the connection does not', () => {
  const key = (a: http.Agent | https.Agent | undefined) => agentKey(a as unknown as Parameters<typeof agentKey>[0]);
  const base = key(new https.Agent({ ca: PEM }));
  const cases: [string, string | undefined, boolean][] = [
    ['same options, another agent', key(new https.Agent({ ca: PEM })), true],
    ['the CA as a Buffer of the same bytes', key(new https.Agent({ ca: Buffer.from(PEM) })), true],
    ['another CA', key(new https.Agent({ ca: PEM.replace('MIIB', 'MIIC') })), false],
    ['a client certificate added', key(new https.Agent({ ca: PEM, cert: PEM, key: 'k' })), false],
    ['verification turned off', key(new https.Agent({ ca: PEM, rejectUnauthorized: false })), false],
    ['another server name', key(new https.Agent({ ca: PEM, servername: 'api.internal' })), false],
    ['plain http', key(new http.Agent()), false],
    ['options that do not name the connection (keepAlive) are ignored', key(new https.Agent({ ca: PEM, keepAlive: true })), true],
  ];
  for (const [what, k, same] of cases) assert.equal(k === base, same, what);
  assert.equal(key(undefined), undefined, 'no agent');
  class ProxyAgent extends https.Agent {}
  assert.equal(key(new ProxyAgent({ ca: PEM })), undefined, 'a proxy agent (any subclass) is left alone');
  assert.equal(agentKey({ constructor: https.Agent, options: { ca: { notAPem: true } } }), undefined, 'a setting it cannot compare');
});

const keepsAlive = (a: unknown) => (a as { keepAlive: boolean }).keepAlive;

test('KeepAliveAgents: one pooled keep-alive agent per setting; the least recently used beyond the cap stops keeping connections', () => {
  const pool = new KeepAliveAgents({ maxAgents: 2 });
  const a = pool.for(new https.Agent({ ca: 'a' }));
  assert.ok(a instanceof https.Agent);
  assert.equal(keepsAlive(a), true);
  assert.equal(pool.for(new https.Agent({ ca: 'a' })), a, 'same setting, same agent');
  const b = pool.for(new https.Agent({ ca: 'b' }));
  assert.notEqual(b, a);
  assert.equal(pool.for(new https.Agent({ ca: 'a' })), a, 'a used again: b is now the least recent');
  pool.for(new https.Agent({ ca: 'c' }));
  assert.equal(keepsAlive(b), false, 'b retired');
  assert.equal(keepsAlive(a), true);
  assert.notEqual(pool.for(new https.Agent({ ca: 'b' })), b, 'b asked for again gets a new agent');
  const plainHttp = pool.for(new http.Agent());
  assert.ok(plainHttp instanceof http.Agent && !(plainHttp instanceof https.Agent));
  class ProxyAgent extends https.Agent {}
  const proxy = new ProxyAgent();
  assert.equal(pool.for(proxy), proxy, 'not poolable: returned as it is');
  pool.close();
});
