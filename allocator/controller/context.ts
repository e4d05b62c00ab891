// What every collaborator of the node reconciler shares: its dependencies, the step hook (fencing
// and crash injection, allocator/crash.ts), compare-and-swap status writes, and events that land on
// both the Node and its ENIPool.
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import type { Clock } from '../../lib/clock.ts';
import type { Logger } from '../../lib/log.ts';
import type { EventRecorder, EventTarget } from '../../lib/events.ts';
import type { ENIPoolClient } from '../../lib/enipool/client.ts';
import { API_VERSION, emptyStatus, ENIPOOL_KIND, type ENIPool } from '../../lib/enipool/types.ts';
import type { Ec2Api } from '../ec2/client.ts';
import type { Ec2Engine } from '../ec2/engine.ts';
import type { SubnetBlockCounter } from '../ec2/blocks.ts';
import type { AllocatorConfig } from '../config.ts';
import type { AllocatorMetrics } from '../metrics.ts';
import { guardedStep, type StepHook } from '../crash.ts';
import type { PodIndex } from './pods.ts';
import type { LatencyWindow } from './latency.ts';
import type { AvailabilityMirror } from './availability-mirror.ts';

export interface ReconcilerDeps {
  pools: ENIPoolClient;
  core: CoreV1Api;
  engine: Ec2Engine;
  api: Ec2Api;
  /** Finds the trunk association of a branch ENI (through the rate limiter). */
  findAssociation: (branchId: string) => Promise<string | undefined>;
  node: (name: string) => V1Node | undefined;
  /**
   * The informer's copy of a node's ENIPool (never mutate it). When given, a pool that needs
   * nothing is decided on it without a GET (quiet.ts); everything else reads the pool fresh.
   */
  cachedPool?: (name: string) => ENIPool | undefined;
  pods: PodIndex;
  clock: Clock;
  logger: Logger;
  events: EventRecorder;
  metrics?: AllocatorMetrics;
  config: AllocatorConfig;
  /** False once this replica must stop acting. */
  alive: () => boolean;
  /** Test hook: called before every EC2 mutation and ENIPool write (throw = crash there). */
  onStep?: StepHook;
  /** Clock time this process started: slots older than it may have a half-made branch ENI. */
  processStart: number;
  /** Free /28 counts of prefix-mode subnets (absent: never counted, freeBlocks stays unknown). */
  blocks?: SubnetBlockCounter;
  /** Pods pending now that are expected to be bound to the node (burst.ts); absent = none known. */
  expectedDemand?: (node: string) => number;
  /** How long grows took (clock ms); its p99 is published with each grow (status.growing). */
  growLatency?: LatencyWindow;
  /** Keeps the Node's availability labels equal to the extender's verdicts (availability-mirror.ts). */
  availability?: AvailabilityMirror;
}

export function nodeTarget(node: V1Node | undefined, name: string): EventTarget {
  return { apiVersion: 'v1', kind: 'Node', name, uid: node?.metadata?.uid };
}

export function poolTarget(pool: ENIPool): EventTarget {
  return { apiVersion: API_VERSION, kind: ENIPOOL_KIND, name: pool.metadata.name!, uid: pool.metadata.uid };
}

export class NodeContext {
  /** Runs before every EC2 mutation and ENIPool write: fenced when no longer alive, then the test hook. */
  readonly step: StepHook;

  constructor(readonly d: ReconcilerDeps) {
    this.step = guardedStep(d.alive, d.onStep);
  }

  get log(): Logger { return this.d.logger; }

  nowISO(): string { return new Date(this.d.clock.now()).toISOString(); }

  /** Records an event on both the Node and its ENIPool. */
  event(pool: ENIPool, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const name = pool.spec.nodeName || pool.metadata.name!;
    this.d.events.record(nodeTarget(this.d.node(name), name), type, reason, message);
    this.d.events.record(poolTarget(pool), type, reason, message);
  }

  /** CAS write of the status; `mutate` returns false to write nothing. Returns the latest pool seen. */
  async write(name: string, step: string, start: ENIPool | undefined, mutate: (p: ENIPool) => boolean): Promise<ENIPool | undefined> {
    await this.step(step, { node: name });
    let latest = start;
    const written = await this.d.pools.updateStatus(name, (fresh) => {
      latest = fresh;
      fresh.status ??= emptyStatus();
      return mutate(fresh) ? { ...fresh, status: { ...fresh.status, lastSync: this.nowISO() } } : undefined;
    }, { start, maxAttempts: 20 });
    return written ?? latest;
  }
}
