import { test } from 'node:test';
import assert from 'node:assert/strict';
import { desiredReplicas, jobPodsToCreate, pickScaleDown } from './workloads.ts';
import type { DeploymentSpec, JobSpec } from './scenario.ts';

test('desiredReplicas follows the last step at or before t', () => {
  const d: DeploymentSpec = { kind: 'Deployment', name: 'w', replicas: [{ at: 120, count: 40 }, { at: 10, count: 12 }, { at: 420, count: 10 }] };
  const cases = [[0, 0], [10, 12], [119, 12], [120, 40], [500, 10]] as const;
  for (const [t, want] of cases) assert.equal(desiredReplicas(d, t), want, `t=${t}`);
});

test('jobPodsToCreate respects parallelism and completions', () => {
  const j: JobSpec = { kind: 'Job', name: 'j', completions: 10, parallelism: 4, durationSeconds: 1 };
  const cases = [
    { active: 0, succeeded: 0, want: 4 },
    { active: 3, succeeded: 0, want: 1 },
    { active: 4, succeeded: 5, want: 0 },
    { active: 1, succeeded: 8, want: 1 },
    { active: 0, succeeded: 10, want: 0 },
  ];
  for (const c of cases) assert.equal(jobPodsToCreate(j, c), c.want, JSON.stringify(c));
});

test('scale-down removes unscheduled pods first, then the newest', () => {
  const pods = [
    { name: 'a', bound: true, created: 1 },
    { name: 'b', bound: false, created: 2 },
    { name: 'c', bound: true, created: 3 },
  ];
  assert.deepEqual(pickScaleDown(pods, 2).map((p) => p.name), ['b', 'c']);
  assert.deepEqual(pickScaleDown(pods, 0), []);
});
