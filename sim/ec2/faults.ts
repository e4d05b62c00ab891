// Injected failures per action, drawn from a seeded RNG so a run can be replayed.
import type { FaultSpec } from './types.ts';

export { seededRng } from '../../lib/random.ts';

export interface FaultDecision { latencyMs: number; fault?: FaultSpec }

export class FaultInjector {
  private faults = new Map<string, FaultSpec[]>();
  constructor(private readonly rng: () => number) {}

  add(action: string, f: FaultSpec): void {
    if (!(f.probability >= 0 && f.probability <= 1)) throw new Error(`fault probability must be within 0..1, got ${f.probability}`);
    if (!f.code) throw new Error('fault code must be set');
    const list = this.faults.get(action) ?? [];
    list.push({ ...f });
    this.faults.set(action, list);
  }

  clear(): void { this.faults.clear(); }

  /** Rolls the dice for one call of `action` ("*" faults apply to every action). */
  decide(action: string): FaultDecision {
    let latencyMs = 0;
    let fired: FaultSpec | undefined;
    for (const key of [action, '*']) {
      const list = this.faults.get(key);
      if (!list) continue;
      for (const f of [...list]) {
        latencyMs = Math.max(latencyMs, f.latencyMs ?? 0);
        if (fired || this.rng() >= f.probability) continue;
        fired = f;
        if (f.count !== undefined && --f.count <= 0) list.splice(list.indexOf(f), 1);
      }
    }
    return { latencyMs, fault: fired };
  }
}
