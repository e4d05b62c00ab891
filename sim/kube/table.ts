// Server-side printing (meta.k8s.io/v1 Table), as kubectl get asks for it: Name, the resource's
// printer columns (CRD additionalPrinterColumns evaluated by a small JSONPath), and Age.
import { apiVersionOf, type PrinterColumn, type ResourceInfo } from './resources.ts';
import type { KObject } from './types.ts';

/** kubectl's HumanDuration, close enough: 42s, 5m3s, 17m, 3h10m, 20h, 3d4h, 45d, 2y. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.floor(s / 3600);
  const d = Math.floor(h / 24);
  if (s < 120) return `${s}s`;
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  if (h < 8) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  if (h < 48) return `${h}h`;
  if (h < 24 * 8) return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

type Step = { key: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string; op: '==' | '!=' } };

/** Parses `.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.type=="Ready")].status`, with `\.` escaping dots in keys. */
export function parseJsonPath(expr: string): Step[] {
  let e = expr.trim();
  if (e.startsWith('{') && e.endsWith('}')) e = e.slice(1, -1);
  if (e.startsWith('$')) e = e.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < e.length) {
    if (e[i] === '.') {
      i++;
      let key = '';
      while (i < e.length && e[i] !== '.' && e[i] !== '[') {
        if (e[i] === '\\' && i + 1 < e.length) { key += e[i + 1]; i += 2; continue; }
        key += e[i++];
      }
      if (key) steps.push({ key });
    } else if (e[i] === '[') {
      const end = e.indexOf(']', i);
      if (end < 0) throw new Error(`unterminated [ in ${expr}`);
      const inner = e.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ all: true });
      else if (/^-?\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else {
        const m = inner.match(/^\?\(@\.([\w.\\/-]+)\s*(==|!=)\s*["']?([^"']*)["']?\)$/);
        if (!m) throw new Error(`unsupported JSONPath filter ${inner}`);
        steps.push({ filter: { path: m[1]!.split('.'), op: m[2] as '==' | '!=', value: m[3]! } });
      }
    } else {
      throw new Error(`unexpected "${e[i]}" in JSONPath ${expr}`);
    }
  }
  return steps;
}

export function evalJsonPath(obj: unknown, expr: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const st of parseJsonPath(expr)) {
    const next: unknown[] = [];
    for (const v of cur) {
      if (v === null || v === undefined) continue;
      if ('key' in st) { const x = (v as Record<string, unknown>)[st.key]; if (x !== undefined) next.push(x); }
      else if ('index' in st) { if (Array.isArray(v)) { const x = v.at(st.index); if (x !== undefined) next.push(x); } }
      else if ('all' in st) { if (Array.isArray(v)) next.push(...v); else if (typeof v === 'object') next.push(...Object.values(v as object)); }
      else if (Array.isArray(v)) {
        for (const item of v) {
          let f: unknown = item;
          for (const p of st.filter.path) f = (f as Record<string, unknown> | undefined)?.[p];
          if ((String(f) === st.filter.value) === (st.filter.op === '==')) next.push(item);
        }
      }
    }
    cur = next;
  }
  return cur;
}

const NAME_COL = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
const AGE_COL = { name: 'Age', type: 'date', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 };

function cellOf(obj: KObject, c: PrinterColumn, now: number, builtin: boolean): unknown {
  let vals: unknown[];
  try { vals = evalJsonPath(obj, c.jsonPath); } catch { return null; }
  // Built-in printers say <none>; CRD columns leave the cell empty (null), as the apiserver does.
  if (vals.length === 0) return c.type === 'date' ? '<unknown>' : builtin ? '<none>' : null;
  if (c.type === 'date') { const t = Date.parse(String(vals[0])); return Number.isNaN(t) ? '<invalid>' : humanDuration(now - t); }
  if (c.type === 'integer' || c.type === 'number') return vals.length === 1 && typeof vals[0] === 'number' ? vals[0] : (c.name === 'Webhooks' ? vals.length : vals.map(String).join(','));
  if (c.type === 'boolean' && vals.length === 1) return vals[0];
  return vals.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(',');
}

export function toTable(info: ResourceInfo, objs: KObject[], meta: { resourceVersion?: string; continue?: string; remainingItemCount?: number }, now: number, includeObject = 'Metadata', withColumns = true) {
  // CRDs with declared columns get exactly those (plus Name); built-ins and column-less CRDs get Age.
  const cols = info.printerColumns ?? [];
  const withAge = info.age ?? (!info.crd || !info.printerColumns);
  const columnDefinitions = [NAME_COL, ...cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })), ...(withAge ? [AGE_COL] : [])];
  const rows = objs.map((o) => {
    const cells: unknown[] = [o.metadata.name, ...cols.map((c) => cellOf(o, c, now, !info.crd))];
    if (withAge) cells.push(o.metadata.creationTimestamp ? humanDuration(now - Date.parse(o.metadata.creationTimestamp)) : '<unknown>');
    const row: Record<string, unknown> = { cells };
    if (includeObject === 'Object') row.object = o;
    else if (includeObject !== 'None') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
    return row;
  });
  return {
    kind: 'Table', apiVersion: 'meta.k8s.io/v1',
    metadata: { ...(meta.resourceVersion ? { resourceVersion: meta.resourceVersion } : {}), ...(meta.continue ? { continue: meta.continue } : {}), ...(meta.remainingItemCount ? { remainingItemCount: meta.remainingItemCount } : {}) },
    columnDefinitions: withColumns ? columnDefinitions : [],
    rows,
  };
}

export const apiVersionFor = apiVersionOf;
