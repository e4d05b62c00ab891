// Query-protocol request parameters: flat `Name.N.Member` keys from a form body, read into typed
// values with EC2's errors (MissingParameter, InvalidParameterValue) on bad input.
import { Ec2Error } from './errors.ts';

export type Params = ReadonlyMap<string, string>;

export function parseForm(body: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(body)) out.set(k, v);
  return out;
}

export function str(p: Params, name: string): string | undefined {
  return p.get(name);
}

export function required(p: Params, name: string): string {
  const v = p.get(name);
  if (v === undefined || v === '') throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
}

export function int(p: Params, name: string, range?: { min?: number; max?: number }): number | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (!/^-?\d{1,10}$/.test(v)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${v}' for ${name}: not an integer`);
  const n = Number(v);
  if ((range?.min !== undefined && n < range.min) || (range?.max !== undefined && n > range.max)) {
    throw new Ec2Error('InvalidParameterValue', `Invalid value '${v}' for ${name}: must be between ${range.min ?? '-inf'} and ${range.max ?? 'inf'}`);
  }
  return n;
}

export function bool(p: Params, name: string): boolean | undefined {
  const v = p.get(name);
  if (v === undefined) return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new Ec2Error('InvalidParameterValue', `Invalid value '${v}' for ${name}: expected true or false`);
}

const MAX_INDEX = 10000;

/** Values of `prefix.1`, `prefix.2`, … in index order. */
export function list(p: Params, prefix: string): string[] {
  const found: [number, string][] = [];
  const lead = `${prefix}.`;
  for (const [k, v] of p) {
    if (!k.startsWith(lead)) continue;
    const rest = k.slice(lead.length);
    if (!/^\d+$/.test(rest)) continue;
    const n = Number(rest);
    if (n >= 1 && n <= MAX_INDEX) found.push([n, v]);
  }
  return found.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** Members of `prefix.N.*` grouped per N (in index order), each as its own Params. */
export function structList(p: Params, prefix: string): Map<string, string>[] {
  const groups = new Map<number, Map<string, string>>();
  const lead = `${prefix}.`;
  for (const [k, v] of p) {
    if (!k.startsWith(lead)) continue;
    const m = /^(\d+)\.(.+)$/.exec(k.slice(lead.length));
    if (!m) continue;
    const n = Number(m[1]);
    if (n < 1 || n > MAX_INDEX) continue;
    let g = groups.get(n);
    if (!g) groups.set(n, (g = new Map()));
    g.set(m[2]!, v);
  }
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, g]) => g);
}

export interface Filter { name: string; values: string[] }

export function filters(p: Params): Filter[] {
  return structList(p, 'Filter').map((g) => {
    const name = g.get('Name');
    if (!name) throw new Ec2Error('InvalidParameterValue', 'Each Filter must have a Name');
    return { name, values: list(g, 'Value') };
  });
}

export function tags(p: Params, prefix = 'Tag'): { key: string; value?: string }[] {
  return structList(p, prefix).map((g) => {
    const key = g.get('Key');
    if (key === undefined || key === '') throw new Ec2Error('InvalidParameterValue', `Tag key must be set (${prefix}.N.Key)`);
    if (key.length > 128) throw new Ec2Error('InvalidParameterValue', `Tag key '${key.slice(0, 20)}…' is longer than 128 characters`);
    const value = g.get('Value');
    if (value !== undefined && value.length > 256) throw new Ec2Error('InvalidParameterValue', `Tag value for '${key}' is longer than 256 characters`);
    return { key, value };
  });
}

/** Tags from TagSpecification.N for one resource type (specs without a type apply too). */
export function tagSpecs(p: Params, resourceType: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of structList(p, 'TagSpecification')) {
    const rt = g.get('ResourceType');
    if (rt !== undefined && rt !== resourceType) throw new Ec2Error('InvalidParameterValue', `'${rt}' is not a valid taggable resource type for this operation (expected ${resourceType})`);
    for (const t of tags(g, 'Tag')) out[t.key] = t.value ?? '';
  }
  return out;
}

/** `*` and `?` wildcards as in EC2 filter values. */
export function wildcardMatch(pattern: string, value: string): boolean {
  if (!pattern.includes('*') && !pattern.includes('?')) return pattern === value;
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(value);
}

/** Pagination: NextToken is the last key returned, base64url-encoded. */
export function encodeToken(lastKey: string): string { return Buffer.from(lastKey, 'utf8').toString('base64url'); }
export function decodeToken(token: string): string {
  const s = Buffer.from(token, 'base64url').toString('utf8');
  if (!s || encodeToken(s) !== token) throw new Ec2Error('InvalidParameterValue', `Invalid NextToken '${token.slice(0, 40)}'`);
  return s;
}

/** Sorted-by-key paging shared by the Describe* actions. */
export function paginate<T>(items: T[], key: (t: T) => string, maxResults: number | undefined, nextToken: string | undefined): { page: T[]; nextToken?: string } {
  const sorted = [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const after = nextToken !== undefined ? decodeToken(nextToken) : undefined;
  const rest = after === undefined ? sorted : sorted.filter((t) => key(t) > after);
  if (maxResults === undefined || rest.length <= maxResults) return { page: rest };
  const page = rest.slice(0, maxResults);
  return { page, nextToken: encodeToken(key(page[page.length - 1]!)) };
}
