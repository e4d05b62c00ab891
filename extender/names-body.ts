// Fast path for names-only ExtenderArgs (nodeCacheCapable: true), the mode the chart configures:
// one native JSON.parse of the whole body instead of the byte scanner plus a parse of the parts
// (the scanner walks every byte in JS; at 5,000 names it cost as much as the parse itself). Only
// bodies the scanner would read the same way take it; anything else — full-node mode, invalid JSON,
// a non-object, deep nesting, an unknown key spelling — returns undefined and goes through
// extender/scan.ts, so errors and full-node byte passthrough are unchanged. One difference remains
// by design: a repeated top-level key keeps its last value here (as Go's encoding/json does), the
// first in the scanner; kube-scheduler never repeats one.

/** Above this the body goes through the scanner (a names-only body at 5,000 nodes is ~230 kB). */
export const FAST_PARSE_MAX_BYTES = 8 * 1024 * 1024;

export interface NamesOnlyParts {
  /** The top-level values the scanner would pick (exact key, else first case-insensitive match). */
  Pod: unknown;
  NodeNames: unknown;
  /** undefined (absent) or null: a Nodes list sends the body to the scanner. */
  Nodes: null | undefined;
}

/** The parts of a names-only body, or undefined when the scanner must decide. */
export function parseNamesOnly(buf: Buffer, maxDepth = 512): NamesOnlyParts | undefined {
  if (buf.length > FAST_PARSE_MAX_BYTES || !endsWithArrayMember(buf)) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(buf.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const o = body as Record<string, unknown>;
  const Nodes = pick(o, 'Nodes');
  if (Nodes !== undefined && Nodes !== null) return undefined;
  for (const k in o) if (deeperThan(o[k], maxDepth)) return undefined;
  return { Pod: pick(o, 'Pod'), NodeNames: pick(o, 'NodeNames'), Nodes };
}

/** The body's last member is an array (`...]}`), as in kube-scheduler's names-only ExtenderArgs; full-node mode ends `null}`. */
function endsWithArrayMember(buf: Buffer): boolean {
  let i = buf.length - 1;
  while (i >= 0 && isWS(buf[i]!)) i--;
  if (buf[i] !== 0x7d) return false;
  i--;
  while (i >= 0 && isWS(buf[i]!)) i--;
  return buf[i] === 0x5d;
}

function isWS(c: number): boolean { return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; }

function pick(o: Record<string, unknown>, canonical: string): unknown {
  if (Object.hasOwn(o, canonical)) return o[canonical];
  const lower = canonical.toLowerCase();
  for (const k in o) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

/** Whether a value nests more than `max` containers (the scanner's depth bound per top-level value). */
export function deeperThan(v: unknown, max: number): boolean {
  if (v === null || typeof v !== 'object') return false;
  const stack: [object, number][] = [[v, 1]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (d > max) return true;
    if (Array.isArray(x)) {
      for (const e of x) if (e !== null && typeof e === 'object') stack.push([e as object, d + 1]);
    } else {
      for (const k in x) {
        const e = (x as Record<string, unknown>)[k];
        if (e !== null && typeof e === 'object') stack.push([e as object, d + 1]);
      }
    }
  }
  return false;
}
