// A node-local IP datastore, as ipamd and the Cilium agent keep one: ENIs with their secondary IPs,
// which pod holds which IP, and IPs cooling down after their pod went away. Pure bookkeeping.

export interface DsEni { id: string; deviceIndex: number; primary: boolean; ips: string[]; createdAtMs: number; subnetId: string }

export class NodeDatastore {
  readonly enis = new Map<string, DsEni>();
  private readonly assigned = new Map<string, string>();      // pod uid → ip
  private readonly holder = new Map<string, string>();        // ip → pod uid
  private readonly cooling = new Map<string, number>();       // ip → until ms
  /** ENIs created but not yet attached as the instance sees it: their IPs are not handed out. */
  readonly attaching = new Set<string>();
  /** IPs the operator asked to release; never handed out (Cilium's handshake). */
  readonly releasing = new Set<string>();

  upsertEni(e: DsEni): void { this.enis.set(e.id, e); }
  removeEni(id: string): void {
    const e = this.enis.get(id);
    if (!e) return;
    for (const ip of e.ips) { this.cooling.delete(ip); this.releasing.delete(ip); }
    this.enis.delete(id);
    this.attaching.delete(id);
  }
  addIps(eniId: string, ips: string[]): void { this.enis.get(eniId)?.ips.push(...ips); }
  removeIps(eniId: string, ips: string[]): void {
    const e = this.enis.get(eniId);
    if (!e) return;
    const drop = new Set(ips);
    e.ips = e.ips.filter((ip) => !drop.has(ip));
    for (const ip of ips) { this.cooling.delete(ip); this.releasing.delete(ip); }
  }

  private coolingNow(ip: string, nowMs: number): boolean {
    const until = this.cooling.get(ip);
    if (until === undefined) return false;
    if (until <= nowMs) { this.cooling.delete(ip); return false; }
    return true;
  }

  /** The IP a pod gets: first unassigned, non-cooling IP, walking ENIs by device index (as ipamd does). */
  assign(podUid: string, nowMs: number): string | undefined {
    const have = this.assigned.get(podUid);
    if (have) return have;
    const enis = [...this.enis.values()].sort((a, b) => a.deviceIndex - b.deviceIndex);
    for (const e of enis) {
      if (this.attaching.has(e.id)) continue;
      for (const ip of e.ips) {
        if (this.holder.has(ip) || this.releasing.has(ip) || this.coolingNow(ip, nowMs)) continue;
        this.assigned.set(podUid, ip);
        this.holder.set(ip, podUid);
        return ip;
      }
    }
    return undefined;
  }

  /** The pod is gone: its IP cools down for cooldownMs before reuse. */
  release(podUid: string, nowMs: number, cooldownMs: number): void {
    const ip = this.assigned.get(podUid);
    if (!ip) return;
    this.assigned.delete(podUid);
    this.holder.delete(ip);
    if (cooldownMs > 0) this.cooling.set(ip, nowMs + cooldownMs);
  }

  /** IPs a pod could be given right now. */
  assignable(nowMs: number): number {
    let n = 0;
    for (const e of this.enis.values()) {
      if (this.attaching.has(e.id)) continue;
      for (const ip of e.ips) if (!this.holder.has(ip) && !this.releasing.has(ip) && !this.coolingNow(ip, nowMs)) n++;
    }
    return n;
  }

  ipOf(podUid: string): string | undefined { return this.assigned.get(podUid); }
  isAssigned(ip: string): boolean { return this.holder.has(ip); }

  stats(nowMs: number): { total: number; assigned: number; cooling: number } {
    let total = 0, cooling = 0;
    for (const e of this.enis.values()) for (const ip of e.ips) { total++; if (!this.holder.has(ip) && this.coolingNow(ip, nowMs)) cooling++; }
    return { total, assigned: this.assigned.size, cooling };
  }

  perEni(nowMs: number): { id: string; primary: boolean; ips: number; assigned: number; cooling: number; free: string[]; createdAtMs: number }[] {
    return [...this.enis.values()].sort((a, b) => a.deviceIndex - b.deviceIndex).map((e) => {
      let assigned = 0, cooling = 0;
      const free: string[] = [];
      for (const ip of e.ips) {
        if (this.holder.has(ip)) assigned++;
        else if (this.coolingNow(ip, nowMs)) cooling++;
        else if (!this.releasing.has(ip)) free.push(ip);
      }
      return { id: e.id, primary: e.primary, ips: e.ips.length, assigned, cooling, free, createdAtMs: e.createdAtMs };
    });
  }
}
