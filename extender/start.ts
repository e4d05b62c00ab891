// Starts the extender in-process: from a KubeConfig (ENIPool informer → capacity index) or from a
// ready-made PoolIndex (tests, bench). Used by main.ts and by the sandbox.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { apiClient } from '../lib/kube/clients.ts';
import type { Registry } from 'prom-client';
import type { Clock } from '../lib/clock.ts';
import { ENIPoolClient } from '../lib/enipool/client.ts';
import { ENIPOOL_PLURAL, GROUP, VERSION, type ENIPool } from '../lib/enipool/types.ts';
import { watchCertFiles, readPemPair, type CertWatcher, type PemPair } from '../lib/certreload.ts';
import { clientAuth, listen, TLS_SERVER_DEFAULTS } from '../lib/http.ts';
import { startInformer, type ResilientInformer } from '../lib/kube/informer.ts';
import type { LimitsTable } from '../lib/limits.ts';
import type { Logger } from '../lib/log.ts';
import { CapacityIndex, type PoolIndex } from './pool-index.ts';
import { createExtenderApp, DEFAULT_EXTENDER_CONFIG, normalisePrefix, type ExtenderConfig } from './server.ts';

export interface StartExtenderOptions {
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  /** Watch ENIPools through this API server… */
  kubeConfig?: KubeConfig;
  /** …or use this index (one of the two is required). */
  poolIndex?: PoolIndex;
  /** Instance limits for pools the allocator has not synced yet. */
  limitsTable?: LimitsTable;
  host?: string;
  port?: number;
  /**
   * HTTPS with this pair; with clientCA, callers must present a certificate it signed (mutual TLS).
   * As files, they are reloaded when they change (every certPollMs), without a restart.
   */
  tls?: { cert: string; key: string; clientCA?: string } | { certFile: string; keyFile: string; clientCAFile?: string };
  /** How often TLS files are checked for changes (clock ms; default 10 s). */
  certPollMs?: number;
  config?: Partial<ExtenderConfig>;
}

export interface RunningExtender {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** What goes into KubeSchedulerConfiguration extenders[].urlPrefix. */
  urlPrefix: string;
  index: PoolIndex;
  /** Checks the TLS files now (tests); true when a new set was loaded. */
  reloadCerts(): Promise<boolean>;
  close(): Promise<void>;
}

/** An ENIPool informer feeding a CapacityIndex. */
export function watchPools(o: { kubeConfig: KubeConfig; clock: Clock; logger: Logger; limitsTable?: LimitsTable }): { index: CapacityIndex; informer: ResilientInformer<KubernetesObject> } {
  const pools = new ENIPoolClient(apiClient(o.kubeConfig, CustomObjectsApi));
  // Ready only after a list really succeeded: the informer reports "synced" even when its first
  // list failed (ListWatch.start resolves and reports the error as an event).
  let listed = false;
  const informer = startInformer<KubernetesObject>({
    kubeConfig: o.kubeConfig,
    path: `/apis/${GROUP}/${VERSION}/${ENIPOOL_PLURAL}`,
    list: async () => {
      const l = (await pools.list()) as unknown as KubernetesListObject<KubernetesObject>;
      listed = true;
      return l;
    },
    clock: o.clock,
    logger: o.logger.child({ informer: 'enipools' }),
  });
  const index = new CapacityIndex({ limitsTable: o.limitsTable, ready: () => listed && informer.hasSynced() });
  informer.on('add', (p) => index.upsert(p as unknown as ENIPool));
  informer.on('update', (p) => index.upsert(p as unknown as ENIPool));
  informer.on('delete', (p) => index.remove(p as unknown as ENIPool));
  return { index, informer };
}

export async function startExtender(o: StartExtenderOptions): Promise<RunningExtender> {
  const config: ExtenderConfig = { ...DEFAULT_EXTENDER_CONFIG, ...o.config };
  let index = o.poolIndex;
  let informer: ResilientInformer<KubernetesObject> | undefined;
  if (!index) {
    if (!o.kubeConfig) throw new Error('startExtender needs kubeConfig or poolIndex');
    const w = watchPools({ kubeConfig: o.kubeConfig, clock: o.clock, logger: o.logger, limitsTable: o.limitsTable });
    index = w.index;
    informer = w.informer;
  }
  const t = o.tls;
  const files = t && 'certFile' in t ? { certFile: t.certFile, keyFile: t.keyFile, ...(t.clientCAFile ? { caFile: t.clientCAFile } : {}) } : undefined;
  const mutual = !!t && ('certFile' in t ? !!t.clientCAFile : !!t.clientCA);
  const app = createExtenderApp({ index, config, logger: o.logger, registry: o.registry, requireClientCert: mutual });
  let srv;
  let watcher: CertWatcher | undefined;
  try {
    const pair: PemPair | undefined = !t ? undefined : 'certFile' in t ? await readPemPair(files!) : { cert: t.cert, key: t.key, ...(t.clientCA ? { ca: t.clientCA } : {}) };
    srv = await listen(app, { host: o.host, port: o.port, tls: pair ? { cert: pair.cert, key: pair.key, ...clientAuth(pair.ca) } : undefined });
    if (files) {
      const server = srv.server as import('node:https').Server;
      // setSecureContext replaces the whole context: keep the TLS policy and the client CA.
      watcher = await watchCertFiles({ ...files, clock: o.clock, logger: o.logger, intervalMs: o.certPollMs ?? 10_000,
        onChange: (p) => server.setSecureContext({ minVersion: TLS_SERVER_DEFAULTS.minVersion, ciphers: TLS_SERVER_DEFAULTS.ciphers, cert: p.cert, key: p.key, ...(p.ca ? { ca: p.ca } : {}) }) });
    }
  } catch (err) {
    await srv?.close();
    await informer?.stop();
    throw new Error(`extender cannot listen on ${o.host ?? '127.0.0.1'}:${o.port ?? 0}: ${(err as Error).message}`, { cause: err });
  }
  const listening = srv;
  o.logger.info({ url: listening.url, prefix: config.prefix, noPoolPolicy: config.noPoolPolicy }, 'extender listening');
  return {
    url: listening.url,
    urlPrefix: `${listening.url}${normalisePrefix(config.prefix)}`,
    index,
    reloadCerts: () => watcher?.check() ?? Promise.resolve(false),
    close: async () => { watcher?.stop(); await informer?.stop(); await listening.close(); },
  };
}
