// A strict JSON scanner over a Buffer that never builds the document: it validates the grammar
// (RFC 8259) iteratively, with a depth bound, and returns byte ranges. The extender uses it for
// kube-scheduler's full-node mode, where ExtenderArgs carries every Node object (tens of MB at 5,000
// nodes): only the Pod, the node names and each item's byte range are needed, and passing nodes go
// back out as the same bytes. JSON.parse of such a body costs several times its size in heap.

export class ScanError extends Error {
  constructor(message: string, readonly at: number) {
    super(`${message} at byte ${at}`);
    this.name = 'ScanError';
  }
}

/** [start, end) of one JSON value in the buffer. */
export interface Span { start: number; end: number }

const WS = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0d]) WS[c] = 1;

export class JsonScanner {
  constructor(readonly buf: Buffer, readonly maxDepth = 512) {}

  ws(i: number): number {
    const b = this.buf;
    while (i < b.length && WS[b[i]!]) i++;
    return i;
  }

  private expect(i: number, c: number, what: string): number {
    if (this.buf[i] !== c) throw new ScanError(i >= this.buf.length ? `unexpected end of JSON, expected ${what}` : `expected ${what}`, i);
    return i + 1;
  }

  /** End of the string starting at i (the opening quote). */
  stringEnd(i: number): number {
    const b = this.buf;
    i = this.expect(i, 0x22, 'a string');
    for (;;) {
      if (i >= b.length) throw new ScanError('unterminated string', i);
      const c = b[i]!;
      if (c === 0x22) return i + 1;
      if (c < 0x20) throw new ScanError('control character in string', i);
      if (c === 0x5c) {
        const e = b[i + 1];
        if (e === 0x75) {
          for (let k = 2; k < 6; k++) {
            const h = b[i + k];
            if (h === undefined || !((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) throw new ScanError('bad \\u escape', i);
          }
          i += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(String.fromCharCode(e))) throw new ScanError('bad escape in string', i);
        i += 2;
        continue;
      }
      i++;
    }
  }

  /** The decoded string starting at i, and its end. */
  string(i: number): { value: string; end: number } {
    const end = this.stringEnd(i);
    return { value: JSON.parse(this.buf.toString('utf8', i, end)) as string, end };
  }

  private numberEnd(i: number): number {
    const b = this.buf;
    const digits = (j: number): number => { const s = j; while (j < b.length && b[j]! >= 0x30 && b[j]! <= 0x39) j++; if (j === s) throw new ScanError('bad number', j); return j; };
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++; else i = digits(i);
    if (b[i] === 0x2e) i = digits(i + 1);
    if (b[i] === 0x65 || b[i] === 0x45) { i++; if (b[i] === 0x2b || b[i] === 0x2d) i++; i = digits(i); }
    return i;
  }

  private literalEnd(i: number, word: string): number {
    if (this.buf.toString('latin1', i, i + word.length) !== word) throw new ScanError('unexpected token', i);
    return i + word.length;
  }

  /** End of the value starting at i (after leading whitespace has been skipped by the caller). */
  valueEnd(i: number): number {
    const b = this.buf;
    // Containers still open: true = object, false = array. Iterative, so nesting cannot overflow the stack.
    const stack: boolean[] = [];
    for (;;) {
      // Parse one value at i.
      i = this.ws(i);
      const c = b[i];
      if (c === 0x7b || c === 0x5b) {
        if (stack.length >= this.maxDepth) throw new ScanError(`nesting deeper than ${this.maxDepth}`, i);
        const isObj = c === 0x7b;
        i = this.ws(i + 1);
        if (b[i] === (isObj ? 0x7d : 0x5d)) { i++; } else {
          stack.push(isObj);
          if (isObj) { i = this.stringEnd(i); i = this.expect(this.ws(i), 0x3a, "':'"); }
          continue;
        }
      } else if (c === 0x22) i = this.stringEnd(i);
      else if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) i = this.numberEnd(i);
      else if (c === 0x74) i = this.literalEnd(i, 'true');
      else if (c === 0x66) i = this.literalEnd(i, 'false');
      else if (c === 0x6e) i = this.literalEnd(i, 'null');
      else throw new ScanError(c === undefined ? 'unexpected end of JSON' : 'unexpected token', i);
      // After a value: close containers or move to the next member/element.
      for (;;) {
        if (stack.length === 0) return i;
        i = this.ws(i);
        const isObj = stack[stack.length - 1]!;
        if (b[i] === 0x2c) {
          i = this.ws(i + 1);
          if (isObj) { i = this.stringEnd(i); i = this.expect(this.ws(i), 0x3a, "':'"); }
          break;
        }
        if (b[i] === (isObj ? 0x7d : 0x5d)) { stack.pop(); i++; continue; }
        throw new ScanError(isObj ? "expected ',' or '}'" : "expected ',' or ']'", i);
      }
    }
  }

  /** Members of the object at i: key → value span (first occurrence wins), and the end. */
  members(i: number, visit: (key: string, value: Span) => void): number {
    const b = this.buf;
    i = this.expect(this.ws(i), 0x7b, 'an object');
    i = this.ws(i);
    if (b[i] === 0x7d) return i + 1;
    for (;;) {
      const k = this.string(this.ws(i));
      i = this.expect(this.ws(k.end), 0x3a, "':'");
      const start = this.ws(i);
      const end = this.valueEnd(start);
      visit(k.value, { start, end });
      i = this.ws(end);
      if (b[i] === 0x2c) { i++; continue; }
      return this.expect(i, 0x7d, "',' or '}'");
    }
  }

  /** Elements of the array at i. */
  elements(i: number, visit: (value: Span) => void): number {
    const b = this.buf;
    i = this.expect(this.ws(i), 0x5b, 'an array');
    i = this.ws(i);
    if (b[i] === 0x5d) return i + 1;
    for (;;) {
      const start = this.ws(i);
      const end = this.valueEnd(start);
      visit({ start, end });
      i = this.ws(end);
      if (b[i] === 0x2c) { i++; continue; }
      return this.expect(i, 0x5d, "',' or ']'");
    }
  }

  isNull(s: Span): boolean { return s.end - s.start === 4 && this.buf[s.start] === 0x6e; }
  text(s: Span): string { return this.buf.toString('utf8', s.start, s.end); }
}

/** Go's encoding/json matches keys case-insensitively, preferring an exact match. */
function pick(members: Map<string, Span>, canonical: string): Span | undefined {
  const exact = members.get(canonical);
  if (exact) return exact;
  for (const [k, v] of members) if (k.toLowerCase() === canonical.toLowerCase()) return v;
  return undefined;
}

export interface ScannedNodeList {
  /** Members of the NodeList other than items, as raw `"key":value` text. */
  rest: string[];
  items: { span: Span; name: string }[];
}

export interface ScannedArgs {
  scanner: JsonScanner;
  pod: Span | undefined;
  nodeNames: Span | undefined;
  /** undefined = absent, null = JSON null. */
  nodes: ScannedNodeList | null | undefined;
}

/** ExtenderArgs: the whole body is validated; the node list is split into items without parsing them. */
export function scanExtenderArgs(buf: Buffer, maxDepth = 512): ScannedArgs {
  const s = new JsonScanner(buf, maxDepth);
  const top = new Map<string, Span>();
  const first = s.ws(0);
  if (buf[first] !== 0x7b) throw new ScanError('ExtenderArgs must be object', first);
  const end = s.members(first, (k, v) => { if (!top.has(k)) top.set(k, v); });
  if (s.ws(end) !== buf.length) throw new ScanError('unexpected data after the JSON object', s.ws(end));
  const nodesSpan = pick(top, 'Nodes');
  let nodes: ScannedNodeList | null | undefined;
  if (nodesSpan && s.isNull(nodesSpan)) nodes = null;
  else if (nodesSpan) {
    if (buf[nodesSpan.start] !== 0x7b) throw new ScanError('ExtenderArgs.Nodes must be an object or null', nodesSpan.start);
    const list: ScannedNodeList = { rest: [], items: [] };
    let items: Span | undefined;
    s.members(nodesSpan.start, (k, v) => {
      if (k === 'items' && !items) items = v;
      else if (k !== 'items') list.rest.push(`${JSON.stringify(k)}:${s.text(v)}`);
    });
    if (!items) throw new ScanError("ExtenderArgs.Nodes must have required property 'items'", nodesSpan.start);
    if (!s.isNull(items)) {
      if (buf[items.start] !== 0x5b) throw new ScanError('ExtenderArgs.Nodes.items must be an array or null', items.start);
      s.elements(items.start, (item) => {
        if (buf[item.start] !== 0x7b) throw new ScanError('ExtenderArgs.Nodes.items[] must be objects', item.start);
        let name: string | undefined;
        s.members(item.start, (k, v) => {
          if (k !== 'metadata' || name !== undefined) return;
          if (buf[v.start] !== 0x7b) throw new ScanError('Node metadata must be an object', v.start);
          s.members(v.start, (mk, mv) => {
            if (mk === 'name' && name === undefined) {
              if (buf[mv.start] !== 0x22) throw new ScanError('Node metadata.name must be a string', mv.start);
              name = s.string(mv.start).value;
            }
          });
        });
        if (name === undefined) throw new ScanError("a Node in ExtenderArgs.Nodes.items has no metadata.name", item.start);
        list.items.push({ span: item, name });
      });
    }
    nodes = list;
  }
  return { scanner: s, pod: pick(top, 'Pod'), nodeNames: pick(top, 'NodeNames'), nodes };
}
