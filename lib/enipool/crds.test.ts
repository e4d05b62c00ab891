import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { crdManifests } from './crds.ts';
import { DEFAULT_POLICY, emptyStatus, type ENIPool } from './types.ts';
import { summarize } from './summary.ts';

type Crd = { spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: object } }[] } };

function schemaFor(kind: string): object {
  const crd = (crdManifests() as unknown as Crd[]).find((c) => c.spec.names.kind === kind);
  assert.ok(crd, `CRD for ${kind}`);
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

test('an ENIPool built from the TypeScript types validates against the CRD schema; bad ones do not', () => {
  const validate = new Ajv({ strict: false }).compile(schemaFor('ENIPool'));
  const status = { ...emptyStatus(), limits: { maxENI: 3, ipv4PerENI: 10, branchENI: 9, trunking: true } };
  status.enis.push({ id: 'eni-0a1', deviceIndex: 0, subnetID: 'subnet-1', subnetCIDR: '10.0.0.0/24', securityGroups: ['sg-1'], mac: '02:00:00:00:00:01', primaryIP: '10.0.0.10', primary: true });
  status.ips['10.0.0.11'] = { eni: 'eni-0a1', state: 'reserved', pod: { uid: 'u', namespace: 'd', name: 'p' }, since: '2026-01-01T00:00:00Z' };
  status.summary = summarize(status);
  const pool: ENIPool = {
    apiVersion: 'eni-ipam.io/v1alpha1', kind: 'ENIPool', metadata: { name: 'n1' },
    spec: { nodeName: 'n1', instanceID: 'i-0abc', instanceType: 'm5.large', zone: 'us-east-1a', vpcID: 'vpc-1', subnetSelector: {}, securityGroups: [], firstInterfaceIndex: 0, policy: DEFAULT_POLICY },
    status,
  };
  assert.equal(validate(pool), true, JSON.stringify(validate.errors));
  const bad = structuredClone(pool);
  (bad.status!.ips['10.0.0.11'] as { state: string }).state = 'stolen';
  assert.equal(validate(bad), false);
  const noSpec = { ...pool, spec: undefined };
  assert.equal(validate(noSpec), false);
});

test('SecurityGroupPolicy schema accepts the vpcresources.k8s.aws spec shape', () => {
  const validate = new Ajv({ strict: false }).compile(schemaFor('SecurityGroupPolicy'));
  const sgp = { apiVersion: 'eni-ipam.io/v1alpha1', kind: 'SecurityGroupPolicy', metadata: { name: 'x', namespace: 'a' },
    spec: { podSelector: { matchLabels: { app: 'db' } }, securityGroups: { groupIds: ['sg-0123'] } } };
  assert.equal(validate(sgp), true, JSON.stringify(validate.errors));
  assert.equal(validate({ ...sgp, spec: { securityGroups: { groupIds: [] } } }), false);
});
