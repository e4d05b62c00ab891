import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REASON_ANTI_AFFINITY, REASON_SPREAD, REASON_SPREAD_MISSING_LABEL, selects, topologyFilter, type PlacedPod, type TopologyNode, type TopologyPod } from './topology.ts';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';
const node = (name: string, zone?: string): TopologyNode => ({ metadata: { name, labels: { [HOST]: name, ...(zone ? { [ZONE]: zone } : {}) } } });
const NODES = [node('a1', 'a'), node('a2', 'a'), node('b1', 'b'), node('c1', 'c')];
const web = (n: string): PlacedPod => ({ namespace: 'default', labels: { app: 'web' }, node: n });
const sel = { matchLabels: { app: 'web' } };
const antiPod = (key: string): TopologyPod => ({ metadata: { namespace: 'default', labels: { app: 'web' } }, spec: { affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: sel, topologyKey: key }] } } } });
const spreadPod = (key: string, maxSkew = 1, extra: TopologyPod['spec'] = {}): TopologyPod => ({ metadata: { namespace: 'default', labels: { app: 'web' } }, spec: { ...extra, topologySpreadConstraints: [{ maxSkew, topologyKey: key, whenUnsatisfiable: 'DoNotSchedule', labelSelector: sel }] } });

test('topology filter: anti-affinity and topology spread, per node', () => {
  const cases: { name: string; pod: TopologyPod; placed: PlacedPod[]; nodes?: TopologyNode[]; want: Record<string, string | undefined> }[] = [
    { name: 'no rules: every node passes', pod: { metadata: { labels: { app: 'web' } } }, placed: [web('a1')], want: { a1: undefined, b1: undefined } },
    { name: 'hostname anti-affinity: not next to a matching pod', pod: antiPod(HOST), placed: [web('a1')], want: { a1: REASON_ANTI_AFFINITY, a2: undefined, b1: undefined } },
    { name: 'zone anti-affinity: not in a zone with a matching pod', pod: antiPod(ZONE), placed: [web('a1')], want: { a1: REASON_ANTI_AFFINITY, a2: REASON_ANTI_AFFINITY, b1: undefined } },
    { name: 'anti-affinity ignores other namespaces and labels', pod: antiPod(HOST), placed: [{ namespace: 'other', labels: { app: 'web' }, node: 'a1' }, { namespace: 'default', labels: { app: 'db' }, node: 'b1' }], want: { a1: undefined, b1: undefined } },
    { name: 'zone spread maxSkew 1: a zone one ahead is refused', pod: spreadPod(ZONE), placed: [web('a1'), web('b1')], want: { a1: REASON_SPREAD, a2: REASON_SPREAD, b1: REASON_SPREAD, c1: undefined } },
    { name: 'zone spread maxSkew 2 allows it', pod: spreadPod(ZONE, 2), placed: [web('a1'), web('b1')], want: { a1: undefined, c1: undefined } },
    { name: 'hostname spread counts empty nodes as domains', pod: spreadPod(HOST), placed: [web('a1'), web('a2'), web('b1')], want: { a1: REASON_SPREAD, c1: undefined } },
    { name: 'a node without the key fails the spread', pod: spreadPod(ZONE), placed: [], nodes: [...NODES, node('x1')], want: { x1: REASON_SPREAD_MISSING_LABEL, a1: undefined } },
    { name: 'nodeSelector limits the domains', pod: spreadPod(ZONE, 1, { nodeSelector: { [ZONE]: 'a' } }), placed: [web('a1')], want: { a1: undefined, a2: undefined } },
    { name: 'ScheduleAnyway never filters', pod: { metadata: { labels: { app: 'web' } }, spec: { topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway', labelSelector: sel }] } }, placed: [web('a1'), web('a2')], want: { a1: undefined } },
  ];
  for (const c of cases) {
    const nodes = c.nodes ?? NODES;
    const f = topologyFilter(c.pod, nodes, c.placed);
    for (const [n, want] of Object.entries(c.want)) assert.equal(f(nodes.find((x) => x.metadata!.name === n)!), want, `${c.name}: node ${n}`);
  }
});

test('label selectors: matchLabels and every expression operator', () => {
  const l = { app: 'web', tier: 'front' };
  const cases: [Parameters<typeof selects>[0], boolean][] = [
    [undefined, false], [{}, true], [{ matchLabels: { app: 'web' } }, true], [{ matchLabels: { app: 'db' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, true],
    [{ matchExpressions: [{ key: 'zone', operator: 'Exists' }] }, false],
  ];
  for (const [s, want] of cases) assert.equal(selects(s, l), want, JSON.stringify(s));
});
