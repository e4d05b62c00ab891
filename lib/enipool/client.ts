// Reading and compare-and-swap writing of ENIPools through the API (DESIGN.md: every write to an
// ENIPool is a CAS on metadata.resourceVersion; a 409 means re-read and retry).
import type { CustomObjectsApi } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../kube/errors.ts';
import { summarize } from './summary.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION, type ENIPool, type ENIPoolStatus } from './types.ts';

const ref = { group: GROUP, version: VERSION, plural: ENIPOOL_PLURAL };

export class ENIPoolClient {
  constructor(private readonly api: CustomObjectsApi) {}

  async get(name: string): Promise<ENIPool | undefined> {
    try {
      return (await this.api.getClusterCustomObject({ ...ref, name })) as ENIPool;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list(): Promise<{ items: ENIPool[]; metadata?: { resourceVersion?: string } }> {
    return (await this.api.listClusterCustomObject(ref)) as { items: ENIPool[]; metadata?: { resourceVersion?: string } };
  }

  async create(pool: ENIPool): Promise<ENIPool> {
    return (await this.api.createClusterCustomObject({ ...ref, body: pool })) as ENIPool;
  }

  async delete(name: string): Promise<void> {
    try { await this.api.deleteClusterCustomObject({ ...ref, name }); } catch (err) { if (!isNotFound(err)) throw err; }
  }

  /** PUT the status subresource with the pool's resourceVersion: fails with 409 when stale. */
  async replaceStatus(pool: ENIPool): Promise<ENIPool> {
    const status: ENIPoolStatus | undefined = pool.status ? { ...pool.status, summary: summarize(pool.status) } : undefined;
    return (await this.api.replaceClusterCustomObjectStatus({ ...ref, name: pool.metadata.name!, body: { ...pool, status } })) as ENIPool;
  }

  /** PUT the main resource (spec, metadata) with the pool's resourceVersion: fails with 409 when stale. */
  async replace(pool: ENIPool): Promise<ENIPool> {
    return (await this.api.replaceClusterCustomObject({ ...ref, name: pool.metadata.name!, body: pool })) as ENIPool;
  }

  /**
   * Read-modify-write of the status with compare-and-swap. `mutate` receives a fresh copy and returns
   * the new pool, or undefined to write nothing. Starts from `start` (e.g. an informer's copy) when given;
   * every conflict re-reads from the API. Returns the written pool, or undefined when nothing was written
   * (mutate declined, or the pool does not exist). `copiesOnWrite`: mutate never edits the pool it is
   * given (it returns a copy, e.g. reserveAll), so `start` is passed as it is instead of deep-copied.
   */
  async updateStatus(
    name: string,
    mutate: (pool: ENIPool) => ENIPool | undefined | Promise<ENIPool | undefined>,
    o: { start?: ENIPool; maxAttempts?: number; copiesOnWrite?: boolean } = {},
  ): Promise<ENIPool | undefined> {
    const maxAttempts = o.maxAttempts ?? 10;
    let current = o.start ? (o.copiesOnWrite ? o.start : structuredClone(o.start)) : await this.get(name);
    for (let attempt = 1; ; attempt++) {
      if (!current) return undefined;
      const next = await mutate(current);
      if (!next) return undefined;
      try {
        return await this.replaceStatus(next);
      } catch (err) {
        if (!isConflict(err) || attempt >= maxAttempts) throw err;
        current = await this.get(name);
      }
    }
  }
}
