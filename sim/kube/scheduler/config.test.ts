import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EXTENDER_TIMEOUT_MS, parseDuration, parseSchedulerConfig } from './config.ts';

test('parseDuration', () => {
  const cases: Array<[string | number, number]> = [['5s', 5000], ['250ms', 250], ['1m30s', 90_000], ['1h', 3_600_000], ['1.5s', 1500], ['0', 0], [2, 2000]];
  for (const [d, want] of cases) assert.equal(parseDuration(d), want, String(d));
  for (const bad of ['', '5', 's', '5x', '5s junk', '-1s']) assert.throws(() => parseDuration(bad), /invalid duration/, bad);
});

const yaml = `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection: {leaderElect: true, resourceName: eni-scheduler, resourceNamespace: kube-system}
profiles: [{schedulerName: eni-scheduler}]
podMaxBackoffSeconds: 20
extenders:
- urlPrefix: http://a.example:8080/scheduler
  filterVerb: filter
  ignorable: true
- urlPrefix: http://b.example:8080/scheduler/
  filterVerb: filter
  prioritizeVerb: prioritize
  weight: 2
  nodeCacheCapable: true
  httpTimeout: 2s
  managedResources: [{name: vpc.amazonaws.com/pod-eni, ignoredByScheduler: true}]
`;

test('parses the extenders section; ignorable ones move last', () => {
  const c = parseSchedulerConfig(yaml);
  assert.deepEqual(c.schedulerNames, ['eni-scheduler']);
  assert.deepEqual(c.extenders.map((e) => e.name), ['http://b.example:8080/scheduler/', 'http://a.example:8080/scheduler']);
  const [b, a] = c.extenders;
  assert.equal(b!.httpTimeoutMs, 2000);
  assert.equal(a!.httpTimeoutMs, DEFAULT_EXTENDER_TIMEOUT_MS);
  assert.equal(b!.weight, 2);
  assert.equal(b!.nodeCacheCapable, true);
  assert.equal(a!.nodeCacheCapable, false);
  assert.deepEqual([...c.ignoredResources], ['vpc.amazonaws.com/pod-eni']);
  assert.equal(c.podInitialBackoffMs, 1000);
  assert.equal(c.podMaxBackoffMs, 20_000);
});

test('defaults without config', () => {
  const c = parseSchedulerConfig(undefined);
  assert.deepEqual(c.schedulerNames, ['default-scheduler']);
  assert.deepEqual(c.extenders, []);
  assert.equal(c.podMaxBackoffMs, 10_000);
});

test('rejects invalid configurations with a message naming the field', () => {
  const cases: Array<[object | string, RegExp]> = [
    [{ extenders: [{ filterVerb: 'filter' }] }, /urlPrefix/],
    [{ extenders: [{ urlPrefix: 'http://x', nodecachecapable: true }] }, /nodecachecapable/],
    [{ extenders: [{ urlPrefix: 'http://x', prioritizeVerb: 'p' }] }, /positive weight/],
    [{ extenders: [{ urlPrefix: 'http://x', bindVerb: 'b' }, { urlPrefix: 'http://y', bindVerb: 'b' }] }, /only one extender can implement bind/],
    [{ extenders: [{ urlPrefix: 'ftp://x' }] }, /scheme/],
    [{ extenders: [{ urlPrefix: 'not a url' }] }, /not a URL/],
    [{ extenders: [{ urlPrefix: 'http://x', httpTimeout: 'soon' }] }, /httpTimeout/],
    [{ extenders: [{ urlPrefix: 'http://x', managedResources: [{ name: 'cpu' }] }] }, /valid extended resource/],
    [{ extenders: [{ urlPrefix: 'http://x', managedResources: [{ name: 'a.io/x' }] }, { urlPrefix: 'http://y', managedResources: [{ name: 'a.io/x' }] }] }, /duplicate/],
    [{ podInitialBackoffSeconds: 5, podMaxBackoffSeconds: 2 }, /podMaxBackoffSeconds/],
    ['extenders: [', /not valid YAML/],
    [{ kind: 'Pod' }, /kind/],
  ];
  for (const [input, re] of cases) assert.throws(() => parseSchedulerConfig(input as object), re, JSON.stringify(input));
});
