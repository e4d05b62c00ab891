// The CRD manifests, read from the chart (charts/eni-ipam/crds) so the chart, the sandbox and the tests
// register exactly the same definitions.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const files = ['enipools.yaml', 'securitygrouppolicies.yaml'];

export function crdManifests(): Record<string, unknown>[] {
  return files.map((f) => parse(readFileSync(new URL(`../../charts/eni-ipam/crds/${f}`, import.meta.url), 'utf8')) as Record<string, unknown>);
}
