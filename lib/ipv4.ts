// Small pure IPv4 helpers for accounting (lib/ cannot use the simulator's CIDR code).

export interface Cidr { base: number; bits: number; size: number }

export function ipToInt(ip: string): number | undefined {
  const p = ip.split('.');
  if (p.length !== 4) return undefined;
  let n = 0;
  for (const x of p) {
    if (!/^\d{1,3}$/.test(x) || Number(x) > 255) return undefined;
    n = n * 256 + Number(x);
  }
  return n;
}

export function parseCidr(cidr: string): Cidr | undefined {
  const [ip, b] = cidr.split('/');
  const base = ipToInt(ip ?? '');
  const bits = Number(b);
  if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  return { base: base - (base % size), bits, size };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ip >= c.base && ip < c.base + c.size;
}

/** Addresses of a subnet that can be assigned: AWS reserves the first four and the last. */
export function usableInSubnet(c: Cidr): number {
  return Math.max(0, c.size - 5);
}
