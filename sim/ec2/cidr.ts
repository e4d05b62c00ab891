// IPv4/CIDR arithmetic and per-subnet address accounting. EC2 reserves the first four and the last
// address of every subnet (aws-anchors.md E.5); everything else is handed out lowest-first.

export interface Cidr { base: number; prefixLen: number; size: number }

export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/len"; undefined when malformed or the base is not aligned to the length. */
export function parseCidr(cidr: string): Cidr | undefined {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) return undefined;
  const base = ipToInt(m[1]!);
  const prefixLen = Number(m[2]);
  if (base === undefined || prefixLen > 32) return undefined;
  const size = 2 ** (32 - prefixLen);
  if (base % size !== 0) return undefined;
  return { base, prefixLen, size };
}

export function formatCidr(c: Cidr): string { return `${intToIp(c.base)}/${c.prefixLen}`; }

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

export const RESERVED_HEAD = 4;
export const PREFIX_SIZE = 16; // a /28

/** Address slots of one subnet. Offsets are relative to the subnet base. */
export class AddressPool {
  readonly cidr: Cidr;
  private readonly used: Uint8Array;
  private inUse = 0;

  constructor(cidr: Cidr) {
    this.cidr = cidr;
    this.used = new Uint8Array(cidr.size);
  }

  private reserved(off: number): boolean { return off < RESERVED_HEAD || off === this.cidr.size - 1; }

  /** Usable addresses not yet handed out. */
  free(): number { return Math.max(0, this.cidr.size - RESERVED_HEAD - 1 - this.inUse); }

  contains(ip: number): boolean { return ip >= this.cidr.base && ip < this.cidr.base + this.cidr.size; }

  isFree(ip: number): boolean {
    const off = ip - this.cidr.base;
    return this.contains(ip) && !this.reserved(off) && this.used[off] === 0;
  }

  /** Why a specific address cannot be taken, or undefined when it can. */
  whyNot(ip: number): 'outside' | 'reserved' | 'in-use' | undefined {
    if (!this.contains(ip)) return 'outside';
    const off = ip - this.cidr.base;
    if (this.reserved(off)) return 'reserved';
    return this.used[off] ? 'in-use' : undefined;
  }

  take(ip: number): void {
    const off = ip - this.cidr.base;
    if (this.whyNot(ip)) throw new Error(`address ${intToIp(ip)} is not free in ${formatCidr(this.cidr)}`);
    this.used[off] = 1;
    this.inUse++;
  }

  release(ip: number): void {
    const off = ip - this.cidr.base;
    if (!this.contains(ip) || this.reserved(off) || !this.used[off]) return;
    this.used[off] = 0;
    this.inUse--;
  }

  /** Lowest free addresses (not taken); fewer than n when the subnet runs out. */
  lowestFree(n: number): number[] {
    const out: number[] = [];
    for (let off = RESERVED_HEAD; off < this.cidr.size - 1 && out.length < n; off++) if (!this.used[off]) out.push(this.cidr.base + off);
    return out;
  }

  /**
   * Free addresses spread so that each aligned /28 block loses one before any loses two: `n` of
   * them taken this way leave as few free /28 blocks as possible (fragmentation). Not taken.
   */
  spreadFree(n: number): number[] {
    const out: number[] = [];
    for (let round = 0; round < PREFIX_SIZE && out.length < n; round++) {
      for (let off = 0; off + PREFIX_SIZE <= this.cidr.size && out.length < n; off += PREFIX_SIZE) {
        const o = off + ((round * 7 + 5) % PREFIX_SIZE); // an address inside the block, varied per round
        if (!this.reserved(o) && !this.used[o] && !out.includes(this.cidr.base + o)) out.push(this.cidr.base + o);
      }
    }
    return out;
  }

  /** Lowest aligned free /28 blocks, excluding blocks in `skip` (not taken); fewer than n if none. */
  freePrefixes(n: number, skip: ReadonlySet<number> = new Set()): number[] {
    const out: number[] = [];
    for (let off = 0; off + PREFIX_SIZE <= this.cidr.size && out.length < n; off += PREFIX_SIZE) {
      const base = this.cidr.base + off;
      if (skip.has(base)) continue;
      let ok = true;
      for (let i = off; i < off + PREFIX_SIZE; i++) if (this.reserved(i) || this.used[i]) { ok = false; break; }
      if (ok) out.push(base);
    }
    return out;
  }

  isPrefixFree(base: number): boolean {
    if (base % PREFIX_SIZE !== 0 || !this.contains(base) || !this.contains(base + PREFIX_SIZE - 1)) return false;
    for (let ip = base; ip < base + PREFIX_SIZE; ip++) if (!this.isFree(ip)) return false;
    return true;
  }

  takePrefix(base: number): void { for (let ip = base; ip < base + PREFIX_SIZE; ip++) this.take(ip); }
  releasePrefix(base: number): void { for (let ip = base; ip < base + PREFIX_SIZE; ip++) this.release(ip); }
}
