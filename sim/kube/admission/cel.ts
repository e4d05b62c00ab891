// A small subset of CEL, enough for typical webhook matchConditions such as
//   request.userInfo.username == 'system:serviceaccount:kube-system:eni-scheduler'
//   has(object.metadata.labels) && 'app' in object.metadata.labels
//   !(request.namespace in ['kube-system', 'kube-public'])
// Supported: null/bool/int/float/string literals, lists, identifiers, `.field`, `[index]`, has(),
// size(), the exists()/all() macros over lists and map keys, string startsWith/endsWith/contains/
// matches, `!`, unary `-`, comparison, `in`, `&&`,
// `||`, `?:`, parentheses. Anything else is a parse error, which the caller treats as an
// evaluation error (failurePolicy decides), the same as CEL's runtime errors.

export class CelError extends Error {}

type Tok = { t: 'num' | 'str' | 'id' | 'op'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?u?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0].replace(/u$/, '') }); i += m[0].length; continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1, s = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && j + 1 < src.length) {
          const e = src[j + 1]!;
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e;
          j += 2;
        } else { s += src[j]; j++; }
      }
      if (j >= src.length) throw new CelError(`unterminated string literal at ${i}`);
      out.push({ t: 'str', v: s }); i = j + 1; continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] }); i += m[0].length; continue;
    }
    const two = src.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) { out.push({ t: 'op', v: two }); i += 2; continue; }
    if ('!<>.()[],?:-+'.includes(c)) { out.push({ t: 'op', v: c }); i++; continue; }
    throw new CelError(`Syntax error: token recognition error at: '${c}'`);
  }
  return out;
}

type Node =
  | { k: 'lit'; v: unknown }
  | { k: 'id'; name: string }
  | { k: 'list'; items: Node[] }
  | { k: 'sel'; obj: Node; field: string }
  | { k: 'idx'; obj: Node; index: Node }
  | { k: 'call'; fn: string; target?: Node; args: Node[] }
  | { k: 'un'; op: string; x: Node }
  | { k: 'bin'; op: string; l: Node; r: Node }
  | { k: 'cond'; c: Node; a: Node; b: Node };

class Parser {
  private p = 0;
  constructor(private readonly toks: Tok[]) {}
  private peek(v?: string): boolean { const t = this.toks[this.p]; return !!t && (v === undefined || (t.t === 'op' && t.v === v)); }
  private eat(v: string): void {
    if (!this.peek(v)) throw new CelError(`Syntax error: expected '${v}'${this.toks[this.p] ? ` at '${this.toks[this.p]!.v}'` : ' at end of input'}`);
    this.p++;
  }
  parseAll(): Node {
    const n = this.cond();
    if (this.p < this.toks.length) throw new CelError(`Syntax error: unexpected '${this.toks[this.p]!.v}'`);
    return n;
  }
  private cond(): Node {
    const c = this.or();
    if (!this.peek('?')) return c;
    this.p++;
    const a = this.or(); this.eat(':'); const b = this.cond();
    return { k: 'cond', c, a, b };
  }
  private or(): Node { let l = this.and(); while (this.peek('||')) { this.p++; l = { k: 'bin', op: '||', l, r: this.and() }; } return l; }
  private and(): Node { let l = this.rel(); while (this.peek('&&')) { this.p++; l = { k: 'bin', op: '&&', l, r: this.rel() }; } return l; }
  private rel(): Node {
    let l = this.add();
    for (;;) {
      const t = this.toks[this.p];
      if (t && ((t.t === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) || (t.t === 'id' && t.v === 'in'))) {
        this.p++; l = { k: 'bin', op: t.v, l, r: this.add() };
      } else return l;
    }
  }
  private add(): Node {
    let l = this.unary();
    while (this.peek('+') || this.peek('-')) { const op = this.toks[this.p++]!.v; l = { k: 'bin', op, l, r: this.unary() }; }
    return l;
  }
  private unary(): Node {
    if (this.peek('!')) { this.p++; return { k: 'un', op: '!', x: this.unary() }; }
    if (this.peek('-')) { this.p++; return { k: 'un', op: '-', x: this.unary() }; }
    return this.member();
  }
  private member(): Node {
    let n = this.primary();
    for (;;) {
      if (this.peek('.')) {
        this.p++;
        const id = this.toks[this.p++];
        if (!id || id.t !== 'id') throw new CelError('Syntax error: expected a field name after "."');
        if (this.peek('(')) n = { k: 'call', fn: id.v, target: n, args: this.args() };
        else n = { k: 'sel', obj: n, field: id.v };
      } else if (this.peek('[')) {
        this.p++; const index = this.cond(); this.eat(']');
        n = { k: 'idx', obj: n, index };
      } else return n;
    }
  }
  private args(): Node[] {
    this.eat('(');
    const a: Node[] = [];
    if (!this.peek(')')) { a.push(this.cond()); while (this.peek(',')) { this.p++; a.push(this.cond()); } }
    this.eat(')');
    return a;
  }
  private primary(): Node {
    const t = this.toks[this.p++];
    if (!t) throw new CelError('Syntax error: unexpected end of input');
    if (t.t === 'num') return { k: 'lit', v: Number(t.v) };
    if (t.t === 'str') return { k: 'lit', v: t.v };
    if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') return { k: 'lit', v: t.v === 'true' };
      if (t.v === 'null') return { k: 'lit', v: null };
      if (this.peek('(')) return { k: 'call', fn: t.v, args: this.args() };
      return { k: 'id', name: t.v };
    }
    if (t.v === '(') { const n = this.cond(); this.eat(')'); return n; }
    if (t.v === '[') {
      const items: Node[] = [];
      if (!this.peek(']')) { items.push(this.cond()); while (this.peek(',')) { this.p++; items.push(this.cond()); } }
      this.eat(']');
      return { k: 'list', items };
    }
    throw new CelError(`Syntax error: unexpected '${t.v}'`);
  }
}

/** Parses once; throws CelError on syntax outside the supported subset. */
export function compileCel(expr: string): (vars: Record<string, unknown>) => unknown {
  const ast = new Parser(tokenize(expr)).parseAll();
  return (vars) => evaluate(ast, vars);
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function field(obj: unknown, name: string): unknown {
  if (!isMap(obj)) throw new CelError(`no such key: ${name}`);
  if (!Object.prototype.hasOwnProperty.call(obj, name) || obj[name] === undefined) throw new CelError(`no such key: ${name}`);
  return obj[name];
}

function truth(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new CelError(`no such overload: ${what} applied to ${v === null ? 'null' : typeof v}`);
  return v;
}

function equal(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]));
  if (isMap(a) && isMap(b)) {
    const ka = Object.keys(a), kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equal(a[k], b[k]));
  }
  return a === b;
}

function evaluate(n: Node, vars: Record<string, unknown>): unknown {
  switch (n.k) {
    case 'lit': return n.v;
    case 'id':
      if (!Object.prototype.hasOwnProperty.call(vars, n.name)) throw new CelError(`undeclared reference to '${n.name}'`);
      return vars[n.name];
    case 'list': return n.items.map((x) => evaluate(x, vars));
    case 'sel': return field(evaluate(n.obj, vars), n.field);
    case 'idx': {
      const o = evaluate(n.obj, vars), i = evaluate(n.index, vars);
      if (Array.isArray(o)) {
        if (typeof i !== 'number' || !Number.isInteger(i) || i < 0 || i >= o.length) throw new CelError(`index out of bounds: ${String(i)}`);
        return o[i];
      }
      return field(o, String(i));
    }
    case 'un': {
      const x = evaluate(n.x, vars);
      if (n.op === '!') return !truth(x, '!_');
      if (typeof x !== 'number') throw new CelError('no such overload: -_');
      return -x;
    }
    case 'cond': return truth(evaluate(n.c, vars), '_?_:_') ? evaluate(n.a, vars) : evaluate(n.b, vars);
    case 'bin': return binary(n, vars);
    case 'call': return call(n, vars);
  }
}

function binary(n: Extract<Node, { k: 'bin' }>, vars: Record<string, unknown>): unknown {
  if (n.op === '&&' || n.op === '||') {
    // CEL's logical operators are commutative over errors: a decisive side wins over an error.
    const decisive = n.op === '||';
    let lerr: unknown, l: boolean | undefined;
    try { l = truth(evaluate(n.l, vars), n.op); } catch (e) { lerr = e; }
    if (l === decisive) return decisive;
    const r = truth(evaluate(n.r, vars), n.op);
    if (r === decisive) return decisive;
    if (lerr) throw lerr;
    return !decisive;
  }
  const l = evaluate(n.l, vars), r = evaluate(n.r, vars);
  switch (n.op) {
    case '==': return equal(l, r);
    case '!=': return !equal(l, r);
    case 'in':
      if (Array.isArray(r)) return r.some((x) => equal(x, l));
      if (isMap(r)) return Object.prototype.hasOwnProperty.call(r, String(l));
      throw new CelError('no such overload: _in_');
    case '+':
      if (typeof l === 'number' && typeof r === 'number') return l + r;
      if (typeof l === 'string' && typeof r === 'string') return l + r;
      if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
      throw new CelError('no such overload: _+_');
    case '-':
      if (typeof l === 'number' && typeof r === 'number') return l - r;
      throw new CelError('no such overload: _-_');
    default: {
      if (!((typeof l === 'number' && typeof r === 'number') || (typeof l === 'string' && typeof r === 'string'))) throw new CelError(`no such overload: _${n.op}_`);
      const a = l as number | string, b = r as number | string;
      return n.op === '<' ? a < b : n.op === '<=' ? a <= b : n.op === '>' ? a > b : a >= b;
    }
  }
}

function call(n: Extract<Node, { k: 'call' }>, vars: Record<string, unknown>): unknown {
  if (n.fn === 'has' && !n.target) {
    const a = n.args[0];
    if (n.args.length !== 1 || !a || a.k !== 'sel') throw new CelError('invalid argument to has() macro');
    const o = evaluate(a.obj, vars);
    return isMap(o) && Object.prototype.hasOwnProperty.call(o, a.field) && o[a.field] !== undefined && o[a.field] !== null;
  }
  if ((n.fn === 'exists' || n.fn === 'all') && n.target) return quantifier(n, vars);
  const target = n.target ? evaluate(n.target, vars) : undefined;
  const args = n.args.map((x) => evaluate(x, vars));
  const str = (v: unknown): string => { if (typeof v !== 'string') throw new CelError(`no such overload: ${n.fn}`); return v; };
  switch (n.fn) {
    case 'size': {
      const v = n.target ? target : args[0];
      if (typeof v === 'string' || Array.isArray(v)) return v.length;
      if (isMap(v)) return Object.keys(v).length;
      throw new CelError('no such overload: size');
    }
    case 'startsWith': return str(target).startsWith(str(args[0]));
    case 'endsWith': return str(target).endsWith(str(args[0]));
    case 'contains': return str(target).includes(str(args[0]));
    case 'matches': return new RegExp(str(args[0])).test(str(target));
    default: throw new CelError(`undeclared reference to '${n.fn}'`);
  }
}

/**
 * `e.exists(x, p)` / `e.all(x, p)` over a list's elements or a map's keys. Like && and ||, a decisive
 * element wins over another element's error; otherwise the first error is raised.
 */
function quantifier(n: Extract<Node, { k: 'call' }>, vars: Record<string, unknown>): boolean {
  const [v, pred] = n.args;
  if (n.args.length !== 2 || !v || v.k !== 'id' || !pred) throw new CelError(`invalid argument to ${n.fn}() macro`);
  const target = evaluate(n.target!, vars);
  const items = Array.isArray(target) ? target : isMap(target) ? Object.keys(target) : undefined;
  if (!items) throw new CelError(`no such overload: ${n.fn}`);
  const decisive = n.fn === 'exists';
  let err: unknown;
  for (const item of items) {
    try {
      if (truth(evaluate(pred, { ...vars, [v.name]: item }), n.fn) === decisive) return decisive;
    } catch (e) { err ??= e; }
  }
  if (err) throw err;
  return !decisive;
}
