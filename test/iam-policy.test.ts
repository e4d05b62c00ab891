// The IAM policy in the repo (deploy/iam-policy.json, shown in docs/install.md) grants exactly the
// EC2 actions the allocator's code can call, and scopes the destructive ones to this cluster's ENIs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..');
interface Statement { Sid?: string; Action: string | string[]; Resource: string | string[]; Condition?: Record<string, Record<string, string>> }
const policy = JSON.parse(readFileSync(join(repo, 'deploy/iam-policy.json'), 'utf8')) as { Statement: Statement[] };
const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** Every `new XCommand(` of @aws-sdk/client-ec2 in the allocator's non-test sources. */
function actionsInCode(): Set<string> {
  const out = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const src = readFileSync(p, 'utf8');
        if (!src.includes('@aws-sdk/client-ec2')) continue;
        for (const m of src.matchAll(/new ([A-Z][A-Za-z]+)Command\(/g)) out.add(m[1]!);
        // Tags at creation (TagSpecifications) are authorised as ec2:CreateTags.
        if (/TagSpecifications:/.test(src)) out.add('CreateTags');
      }
    }
  };
  walk(join(repo, 'allocator'));
  return out;
}

test('the policy grants exactly the EC2 actions the allocator can call', () => {
  const code = actionsInCode();
  const granted = new Set(policy.Statement.flatMap((s) => list(s.Action)).map((a) => { assert.match(a, /^ec2:[A-Z]/); return a.slice(4); }));
  assert.ok(code.size >= 10, `found ${[...code].join(', ')}`);
  assert.deepEqual([...granted].sort(), [...code].sort());
});

test('destructive calls only on this cluster\'s ENIs; new ENIs must carry the cluster tag; tags only at creation', () => {
  const on = (action: string, resource: RegExp) => policy.Statement.filter((s) => list(s.Action).includes(`ec2:${action}`) && list(s.Resource).some((r) => resource.test(r)));
  for (const a of ['DeleteNetworkInterface', 'DetachNetworkInterface', 'AttachNetworkInterface', 'ModifyNetworkInterfaceAttribute']) {
    const st = on(a, /network-interface|^\*$/);
    assert.ok(st.length > 0, a);
    for (const s of st) assert.equal(s.Condition?.StringEquals?.['aws:ResourceTag/eni-ipam.io/cluster'], '<clusterName>', `${a} in ${s.Sid}`);
  }
  for (const s of on('CreateNetworkInterface', /network-interface/)) assert.equal(s.Condition?.StringEquals?.['aws:RequestTag/eni-ipam.io/cluster'], '<clusterName>');
  for (const s of on('CreateTags', /./)) assert.equal(s.Condition?.StringEquals?.['ec2:CreateAction'], 'CreateNetworkInterface');
  // Nothing but Describe* and the trunk calls (no resource-level support) is granted on "*".
  const star = policy.Statement.filter((s) => list(s.Resource).includes('*')).flatMap((s) => list(s.Action));
  for (const a of star) assert.match(a, /^ec2:(Describe\w+|AssociateTrunkInterface|DisassociateTrunkInterface)$/);
});

test('docs/install.md shows the policy file as it is', () => {
  const doc = readFileSync(join(repo, 'docs/install.md'), 'utf8');
  const file = readFileSync(join(repo, 'deploy/iam-policy.json'), 'utf8').trim();
  assert.ok(doc.includes('```json\n' + file + '\n```'), 'docs/install.md must embed deploy/iam-policy.json verbatim');
});
