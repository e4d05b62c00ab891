// The sandbox report: its JSON shape, the end-of-run summary table, and a self-contained HTML page
// (inline SVG charts, no network) with one line per policy when comparing.

import type { AddressState } from '../../lib/enipool/accounting.ts';
import { SUSTAINED_IDLE_SECONDS, type CensoredLatency, type IdleAtPeakPods } from './stats.ts';

/** The three compared systems, plus Cilium with its opt-in --aws-release-excess-ips. */
export type PolicyName = 'eni-ipam' | 'aws-vpc-cni' | 'cilium' | 'cilium-release-excess';

export interface InvariantResult { id: number; name: string; checks: number; violations: number; examples: string[] }

export interface RunReport {
  scenario: string;
  policy: PolicyName;
  speed: number;
  /** How simulated time relates to the machine's (the clock the run used). */
  timeModel?: string;
  simulatedSeconds: number;
  wallSeconds: number;
  pods: {
    created: number; bound: number; running: number; succeeded: number; pendingAtEnd: number;
    /** Pods that were bound but had no IP for longer than the stuck threshold. */
    stuck: number; stuckAtEnd: number; stuckSecondsTotal: number; stuckSecondsMax: number;
    /** Pods refused at binding at least once (eni-ipam keeps them pending instead of stuck). */
    bindRefused: number;
    /** Pods pending at the end by the scheduler's last reason (its FailedScheduling message, node counts dropped). */
    pendingReasons?: Record<string, number>;
    /** Pods succeeded per minute, from the first pod's creation to the last success (Job throughput). */
    completionsPerMinute?: number;
  };
  /**
   * Time to IP over every pod, censored: a live pod that never got an IP counts as "never" (beyond
   * the end of the run), so p50/p99 are null when they fall among those. `never` = live pods without
   * an IP at the end; `goneBeforeIp` = pods deleted or finished before they had one (left out).
   */
  timeToIp: {
    count: number; withoutIp: number; never?: number; goneBeforeIp?: number;
    /** create→IP, as createToIp. */
    p50Seconds?: number | null; p99Seconds?: number | null;
    createToBound?: CensoredLatency; boundToIp?: CensoredLatency; createToIp?: CensoredLatency;
    allHaveIpAtSeconds?: number;
  };
  /**
   * When the scenario frees subnet addresses mid-run: the pods waiting for an IP at that moment and
   * how long from then until they had one (null = some never did).
   */
  afterCapacity?: {
    atSeconds: number; waiting: number; never: number; p50Seconds: number | null; maxSeconds: number | null;
    /** When a node first had a free pod IP again, and the waits counted from then (the scheduler's and kubelet's part). */
    nodeRoomAtSeconds: number | null; fromNodeRoom: { p50Seconds: number | null; maxSeconds: number | null };
  };
  /**
   * Pod addresses held on nodes (secondary IPs and prefix addresses) minus those used by pods, summed
   * over nodes: `peak` = the maximum over the whole run (empty nodes' first warm pool included),
   * `sustainedPeak` = the most held for at least one sample interval (stats.ts `sustainedIdlePeak`:
   * a burst's grow its pods take before the next sample is in flight, not hoarded),
   * `atEnd` = the last sample, `atPeakPods` = at peak load (stats.ts `idleAtPeakPods`).
   */
  idleReservedIPs: { peak: number; sustainedPeak?: number; atEnd: number; atPeakPods?: IdleAtPeakPods };
  subnets: {
    id: string; name: string; cidr: string; zone?: string; usable: number; peakUsed: number; peakUtilisation: number;
    /** Usable addresses by state at the last sample (eni_ipam_subnet_addresses' states; they sum to `usable`). */
    addressesAtEnd?: Record<AddressState, number>;
    /** Free addresses and free aligned /28 blocks at the end (free addresses with no free /28 is fragmentation). */
    freeAtEnd?: number; freePrefixesAtEnd?: number;
  }[];
  /** Per node: the peaks over the run, and the last sample (addresses held for pods and pods using one). */
  nodes: { name: string; instanceType: string; peakReserved: number; peakInUse: number; endReserved: number; endInUse: number }[];
  ec2: { calls: Record<string, { ok: number; throttled: number; errors: number }>; totalCalls: number; mutatingCalls: number; throttled: number };
  invariants: InvariantResult[];
  /** Time series: [t seconds, value...] */
  series: {
    /** t, pending (unbound), stuck (bound, no IP), running */
    pods: [number, number, number, number][];
    /** t, per-subnet utilisation 0..1 in `subnets` order */
    subnetUtilisation: [number, ...number[]][];
    /** t, reserved secondary IPs, IPs in use */
    ips: [number, number, number][];
    /** Per subnet (in `subnets` order): t, free, used, idle, eni-primary, others. Under eni-ipam the
     * allocator's own accounting (its metrics' numbers); under a baseline, EC2 and the pods. */
    subnetAddresses: { subnet: string; points: SubnetSplitPoint[] }[];
  };
  notes: string[];
  /** Nodes whose launch failed (e.g. no address left in their subnet) and were retried. */
  launches?: { failedNodes: number; attempts: number; lastError?: string };
  /** Up to ten stuck pods and what they carried (why they had no IP). */
  stuckExamples: string[];
}

/** t, free, used, idle, eni-primary, others (addresses of one subnet at time t). */
export type SubnetSplitPoint = [number, number, number, number, number, number];

export const MUTATING = new Set([
  'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute',
  'AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateTags', 'DeleteTags', 'AssociateTrunkInterface', 'DisassociateTrunkInterface',
]);

/** Mutating EC2 calls per pod that succeeded (Job churn's cost in EC2 calls). */
export function mutatingPerSucceeded(r: RunReport): number {
  return r.pods.succeeded ? r.ec2.mutatingCalls / r.pods.succeeded : NaN;
}

export function invariantViolations(r: RunReport): number {
  return r.invariants.reduce((a, i) => a + i.violations, 0);
}

const fmt = (x: number | undefined, digits = 1) => (x === undefined ? '-' : Number.isInteger(x) ? String(x) : x.toFixed(digits));
/** Seconds, "never" for a censored quantile (null). */
const secs = (x: number | null | undefined) => (x === null ? 'never' : fmt(x));
const lat = (l: CensoredLatency | undefined) => (l ? `${secs(l.p50Seconds)} / ${secs(l.p99Seconds)}` : '-');

/** A plain-text table with one column per run. */
export function summaryTable(runs: RunReport[]): string {
  const rows: [string, (r: RunReport) => string][] = [
    ['pods created', (r) => fmt(r.pods.created)],
    ['pods bound', (r) => fmt(r.pods.bound)],
    ['pods running at end', (r) => fmt(r.pods.running)],
    ['pods succeeded', (r) => fmt(r.pods.succeeded)],
    ['pending at end', (r) => fmt(r.pods.pendingAtEnd)],
    ['stuck pods (bound, no IP)', (r) => fmt(r.pods.stuck)],
    ['stuck at end', (r) => fmt(r.pods.stuckAtEnd)],
    ['stuck seconds (total / max)', (r) => `${fmt(r.pods.stuckSecondsTotal, 0)} / ${fmt(r.pods.stuckSecondsMax, 0)}`],
    ['bindings refused (retried)', (r) => fmt(r.pods.bindRefused)],
    ['create→bound p50 / p99 (s)', (r) => lat(r.timeToIp.createToBound)],
    ['bound→IP p50 / p99 (s)', (r) => lat(r.timeToIp.boundToIp)],
    ['create→IP p50 / p99 (s)', (r) => `${secs(r.timeToIp.p50Seconds)} / ${secs(r.timeToIp.p99Seconds)}`],
    ['never got an IP', (r) => fmt(r.timeToIp.never ?? r.timeToIp.withoutIp)],
    ...(runs.some((r) => r.afterCapacity) ? [
      ['waited after subnet freed p50 / max (s)', (r: RunReport) => (r.afterCapacity ? `${secs(r.afterCapacity.p50Seconds)} / ${secs(r.afterCapacity.maxSeconds)} (${r.afterCapacity.waiting} pods)` : '-')],
      ['waited after node had room p50 / max (s)', (r: RunReport) => (r.afterCapacity ? `${secs(r.afterCapacity.fromNodeRoom.p50Seconds)} / ${secs(r.afterCapacity.fromNodeRoom.maxSeconds)} (room at ${secs(r.afterCapacity.nodeRoomAtSeconds)})` : '-')],
    ] as [string, (r: RunReport) => string][] : []),
    ['all pods had IPs at (s)', (r) => fmt(r.timeToIp.allHaveIpAtSeconds)],
    ['idle reserved IPs at peak pods', (r) => { const a = r.idleReservedIPs.atPeakPods; return a ? `${a.idle} (${a.pods} pods, t=${fmt(a.atSeconds)} s)` : '-'; }],
    [`idle reserved IPs max over run / held ${SUSTAINED_IDLE_SECONDS} s / end`, (r) => `${r.idleReservedIPs.peak} / ${r.idleReservedIPs.sustainedPeak ?? '-'} / ${r.idleReservedIPs.atEnd}`],
    ['peak subnet utilisation', (r) => r.subnets.map((s) => `${s.name} ${(s.peakUtilisation * 100).toFixed(0)}%`).join(', ')],
    ['pods per node (min / max at peak)', (r) => { const v = r.nodes.map((n) => n.peakInUse); return v.length ? `${Math.min(...v)} / ${Math.max(...v)}` : '-'; }],
    ['fragmented subnets (free, no /28)', (r) => r.subnets.filter((s) => (s.freeAtEnd ?? 0) >= 16 && s.freePrefixesAtEnd === 0).map((s) => `${s.name} (${s.freeAtEnd} free)`).join(', ') || 'none'],
    ...(runs.some((r) => r.pods.succeeded > 0) ? [
      ['pods succeeded per minute', (r: RunReport) => fmt(r.pods.completionsPerMinute, 2)],
      ['mutating EC2 calls per succeeded pod', (r: RunReport) => (r.pods.succeeded ? fmt(mutatingPerSucceeded(r), 2) : '-')],
    ] as [string, (r: RunReport) => string][] : []),
    ['EC2 calls (mutating)', (r) => `${r.ec2.totalCalls} (${r.ec2.mutatingCalls})`],
    ['mutating EC2 calls per node', (r) => (r.nodes.length ? fmt(r.ec2.mutatingCalls / r.nodes.length, 1) : '-')],
    ['EC2 throttled', (r) => fmt(r.ec2.throttled)],
    ['invariant violations', (r) => fmt(invariantViolations(r))],
    ['simulated / wall seconds', (r) => `${fmt(r.simulatedSeconds, 0)} / ${fmt(r.wallSeconds)}`],
  ];
  const header = ['', ...runs.map((r) => r.policy)];
  const body = rows.map(([label, f]) => [label, ...runs.map(f)]);
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const title = `scenario ${runs[0]?.scenario ?? '?'}`;
  const violations = runs.flatMap((r) => r.invariants.filter((i) => i.violations > 0).map((i) => `  ${r.policy}: invariant ${i.id} (${i.name}): ${i.violations} violation(s), e.g. ${i.examples[0] ?? ''}`));
  const pending = runs.flatMap((r) => Object.entries(r.pods.pendingReasons ?? {}).sort((a, b) => b[1] - a[1]).map(([why, n]) => `  ${r.policy}: ${n} × ${why}`));
  return [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line),
    ...(pending.length ? ['', 'pending at end, by the scheduler\'s last reason:', ...pending] : []),
    ...(violations.length ? ['', 'INVARIANT VIOLATIONS:', ...violations] : [])].join('\n');
}

// Series are told apart by colour AND dash, so overlapping lines and grey-scale prints stay readable.
const COLORS: Record<PolicyName, string> = { 'eni-ipam': '#1b7f3b', 'aws-vpc-cni': '#d9822b', cilium: '#3b6fd9', 'cilium-release-excess': '#7b3fb0' };
const DASHES: Record<PolicyName, string> = { 'eni-ipam': '', 'aws-vpc-cni': '7 4', cilium: '2 3', 'cilium-release-excess': '9 3 2 3' };
const WIDTHS: Record<PolicyName, number> = { 'eni-ipam': 2.5, 'aws-vpc-cni': 2, cilium: 2, 'cilium-release-excess': 2 };
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Axis ticks for 0..max: whole steps of 1, 2 or 5 × 10^k, never fractions of a pod. */
export function niceTicks(max: number, o: { percent?: boolean; integer?: boolean } = {}): number[] {
  if (o.percent) return [0, 0.25, 0.5, 0.75, 1];
  if (!(max > 0)) return [0];
  const raw = max / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) ?? 10 * mag;
  if (o.integer !== false) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let v = 0; v < max + step; v += step) out.push(v);
  return out;
}

export interface Series { label: string; color: string; dash?: string; width?: number; points: [number, number][] }

/** An SVG line chart that scales to its container: one polyline per series, legend with the dash. */
export function lineChart(title: string, yLabel: string, lines: Series[], o: { yMax?: number; percent?: boolean } = {}): string {
  const W = 640, H = 270, L = 56, R = 12, T = 28, B = 44;
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const dataMax = Math.max(0, ...ys);
  const ticks = niceTicks(o.yMax ?? dataMax, { percent: o.percent });
  const yMax = o.yMax ?? Math.max(1, ticks.at(-1)!);
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const grid = ticks.map((v) => {
    const label = o.percent ? `${Math.round(v * 100)}%` : String(v);
    return `<line x1="${L}" x2="${W - R}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="#e6e6e6"/><text x="${L - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${label}</text>`;
  }).join('');
  const xt = Array.from({ length: 5 }, (_, i) => { const v = (xMax * i) / 4; return `<text x="${sx(v).toFixed(1)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${Math.round(v)}s</text>`; }).join('');
  const polys = lines.map((l) => `<polyline fill="none" stroke="${l.color}" stroke-width="${l.width ?? 2}"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''} points="${l.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(Math.min(y, yMax)).toFixed(1)}`).join(' ')}"><title>${esc(l.label)}</title></polyline>`).join('');
  const legend = lines.map((l, i) => `<line x1="${L + i * 160}" x2="${L + 24 + i * 160}" y1="${H - 10}" y2="${H - 10}" stroke="${l.color}" stroke-width="${l.width ?? 2}"${l.dash ? ` stroke-dasharray="${l.dash}"` : ''}/><text x="${L + 30 + i * 160}" y="${H - 6}" font-size="11">${esc(l.label)}</text>`).join('');
  const zero = dataMax === 0 && !o.percent ? `<text x="${(L + W - R) / 2}" y="${(T + H - B) / 2}" text-anchor="middle" font-size="12" fill="#666">zero throughout for every policy</text>` : '';
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" preserveAspectRatio="xMidYMid meet" role="img" aria-label="${esc(title)}">
<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(title)}</text><text x="12" y="${T + 10}" font-size="10" transform="rotate(-90 12 ${T + 10})" text-anchor="end">${esc(yLabel)}</text>
${grid}${xt}<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/>${polys}${zero}${legend}</svg></figure>`;
}

/** One goal of the summary: what a good result is, the value per policy and whether it meets it. */
export interface Goal { label: string; goal: string; value: (r: RunReport) => string; pass: (r: RunReport) => boolean | undefined }

export const GOALS: Goal[] = [
  { label: 'Pods stuck in ContainerCreating (bound, no IP > 30 s)', goal: '0', value: (r) => `${r.pods.stuck}${r.pods.stuck ? ` (max ${Math.round(r.pods.stuckSecondsMax)} s)` : ''}`, pass: (r) => r.pods.stuck === 0 },
  { label: 'Pods that never got an IP', goal: '0', value: (r) => String(r.timeToIp.never ?? r.timeToIp.withoutIp), pass: (r) => (r.timeToIp.never ?? r.timeToIp.withoutIp) === 0 },
  { label: 'Time to IP, create → IP, p50 / p99', goal: 'p99 ≤ 60 s', value: (r) => `${secs(r.timeToIp.p50Seconds)} / ${secs(r.timeToIp.p99Seconds)} s`, pass: (r) => r.timeToIp.p99Seconds !== null && r.timeToIp.p99Seconds !== undefined && r.timeToIp.p99Seconds <= 60 },
  { label: 'Idle reserved IPs, max over the run (held on nodes, unused)', goal: '≤ 10 per node', value: (r) => `${r.idleReservedIPs.peak} (${r.nodes.length} nodes)`, pass: (r) => r.idleReservedIPs.peak <= 10 * Math.max(1, r.nodes.length) },
  { label: 'EC2 calls refused (errors / throttled)', goal: '0 throttled', value: (r) => `${ec2Errors(r)} / ${r.ec2.throttled}`, pass: (r) => r.ec2.throttled === 0 },
  { label: 'Node launches that failed', goal: '0', value: (r) => String(r.launches?.failedNodes ?? 0), pass: (r) => (r.launches?.failedNodes ?? 0) === 0 },
  { label: 'eni-ipam invariant violations', goal: '0', value: (r) => (r.policy === 'eni-ipam' ? String(invariantViolations(r)) : 'n/a'), pass: (r) => (r.policy === 'eni-ipam' ? invariantViolations(r) === 0 : undefined) },
];

const ec2Errors = (r: RunReport) => Object.values(r.ec2.calls).reduce((a, c) => a + c.errors, 0);

function goalTable(runs: RunReport[]): string {
  const cell = (g: Goal, r: RunReport) => {
    const p = g.pass(r);
    const mark = p === undefined ? '' : p ? '<span class="pass">✓ pass</span>' : '<span class="fail">✗ fail</span>';
    return `<td>${esc(g.value(r))} ${mark}</td>`;
  };
  return `<table class="goals"><thead><tr><th>what</th><th>goal</th>${runs.map((r) => `<th style="color:${COLORS[r.policy]}">${esc(r.policy)}</th>`).join('')}</tr></thead>
<tbody>${GOALS.map((g) => `<tr><td>${esc(g.label)}</td><td>${esc(g.goal)}</td>${runs.map((r) => cell(g, r)).join('')}</tr>`).join('\n')}</tbody></table>`;
}

/** Nodes holding the most IPs no pod uses (peaks), per policy. */
function hoarders(runs: RunReport[], top = 5): string {
  const rows = runs.map((r) => {
    const worst = [...r.nodes].map((n) => ({ ...n, idle: Math.max(0, n.peakReserved - n.peakInUse) })).sort((a, b) => b.idle - a.idle).slice(0, top);
    const body = worst.length ? worst.map((n) => `<tr><td>${esc(n.name)}</td><td>${esc(n.instanceType)}</td><td>${n.peakReserved}</td><td>${n.peakInUse}</td><td>${n.idle}</td></tr>`).join('') : '<tr><td colspan="5">no nodes</td></tr>';
    return `<div><h3 style="color:${COLORS[r.policy]}">${esc(r.policy)}</h3><table><thead><tr><th>node</th><th>type</th><th>IPs held (peak)</th><th>in use (peak)</th><th>idle</th></tr></thead><tbody>${body}</tbody></table></div>`;
  });
  return `<section><h2>Top hoarders: nodes holding the most unused IPs</h2><div class="grid">${rows.join('')}</div></section>`;
}

function ec2Section(runs: RunReport[]): string {
  const actions = [...new Set(runs.flatMap((r) => Object.keys(r.ec2.calls)))].sort();
  const head = `<tr><th>action</th>${runs.map((r) => `<th style="color:${COLORS[r.policy]}">${esc(r.policy)}<br><small>ok / errors / throttled</small></th>`).join('')}</tr>`;
  const body = actions.map((a) => `<tr><td>${esc(a)}</td>${runs.map((r) => {
    const c = r.ec2.calls[a];
    if (!c) return '<td>-</td>';
    return `<td>${c.ok} / <span class="${c.errors ? 'fail' : ''}">${c.errors}</span> / <span class="${c.throttled ? 'fail' : ''}">${c.throttled}</span></td>`;
  }).join('')}</tr>`).join('\n');
  const launches = runs.filter((r) => r.launches?.failedNodes).map((r) => `<p class="fail"><b>${esc(r.policy)}</b>: ${r.launches!.failedNodes} node(s) could not launch (${r.launches!.attempts} attempts); last error: ${esc(r.launches!.lastError ?? '')}</p>`).join('');
  return `<section><h2>EC2 calls and failed launches</h2>${launches || '<p>Every node launched.</p>'}<table>${head}${body}</table></section>`;
}

const SPLIT_LAYERS: { label: string; color: string; index: number }[] = [
  { label: 'used by pods', color: '#1b7f3b', index: 2 },
  { label: 'idle (held, no pod)', color: '#e0a526', index: 3 },
  { label: 'ENI primaries', color: '#9b6bd3', index: 4 },
  { label: 'others in the VPC', color: '#8c8c8c', index: 5 },
  { label: 'free', color: '#cfe3f7', index: 1 },
];

/**
 * A stacked area chart of one subnet's addresses over time: used, idle, ENI primaries (together what
 * the IPAM reserves), others and free, stacking up to the subnet's usable size.
 */
export function subnetSplitChart(title: string, size: number, points: SubnetSplitPoint[]): string {
  const W = 640, H = 260, L = 56, R = 12, T = 28, B = 36;
  const xMax = Math.max(1, ...points.map((p) => p[0]));
  const yMax = Math.max(1, size);
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (Math.min(y, yMax) / yMax) * (H - T - B);
  const lower = points.map(() => 0);
  const areas = SPLIT_LAYERS.map((layer) => {
    const lo = [...lower];
    points.forEach((p, i) => { lower[i] = lower[i]! + Math.max(0, p[layer.index]!); });
    const top = points.map((p, i) => `${sx(p[0]).toFixed(1)},${sy(lower[i]!).toFixed(1)}`);
    const bottom = points.map((p, i) => `${sx(p[0]).toFixed(1)},${sy(lo[i]!).toFixed(1)}`).reverse();
    const last = points.at(-1);
    return `<polygon fill="${layer.color}" stroke="none" points="${[...top, ...bottom].join(' ')}"><title>${esc(layer.label)}${last ? `: ${last[layer.index]} at ${last[0]}s` : ''}</title></polygon>`;
  }).join('');
  const grid = Array.from({ length: 5 }, (_, i) => { const v = (yMax * i) / 4; return `<line x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" stroke="#fff" stroke-opacity="0.6"/><text x="${L - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${Math.round(v)}</text>`; }).join('');
  const xt = Array.from({ length: 5 }, (_, i) => { const v = (xMax * i) / 4; return `<text x="${sx(v)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${Math.round(v)}s</text>`; }).join('');
  const legend = SPLIT_LAYERS.map((l, i) => `<rect x="${L + i * 118}" y="${H - 14}" width="10" height="10" fill="${l.color}"/><text x="${L + 14 + i * 118}" y="${H - 5}" font-size="11">${esc(l.label)}</text>`).join('');
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">
<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(title)}</text><text x="12" y="${T + 10}" font-size="10" transform="rotate(-90 12 ${T + 10})" text-anchor="end">addresses</text>
${areas}${grid}${xt}<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/>${legend}</svg></figure>`;
}

export function htmlReport(runs: RunReport[]): string {
  const subnetNames = runs[0]?.subnets.map((s) => s.name) ?? [];
  const series = (f: (r: RunReport) => [number, number][]) => runs.map((r) => ({ label: r.policy, color: COLORS[r.policy], dash: DASHES[r.policy], width: WIDTHS[r.policy], points: f(r) }));
  const charts: string[] = [];
  subnetNames.forEach((name, i) => {
    charts.push(lineChart(`Subnet ${name} utilisation`, 'addresses used', series((r) => r.series.subnetUtilisation.map((p) => [p[0], p[i + 1] ?? 0] as [number, number])), { yMax: 1, percent: true }));
  });
  subnetNames.forEach((name, i) => {
    for (const r of runs) {
      const sub = r.subnets[i];
      const points = r.series.subnetAddresses?.[i]?.points ?? [];
      if (sub && points.length) charts.push(subnetSplitChart(`Subnet ${name} (${sub.cidr}) under ${r.policy}: used vs idle vs ENI primaries vs others vs free`, sub.usable, points));
    }
  });
  charts.push(lineChart('Pending pods (not yet bound)', 'pods', series((r) => r.series.pods.map((p) => [p[0], p[1]] as [number, number]))));
  charts.push(lineChart('Stuck pods (bound, no IP: ContainerCreating)', 'pods', series((r) => r.series.pods.map((p) => [p[0], p[2]] as [number, number]))));
  charts.push(lineChart('Pods without an IP (pending + stuck; "never" if still there at the end)', 'pods', series((r) => r.series.pods.map((p) => [p[0], p[1] + p[2]] as [number, number]))));
  charts.push(lineChart('Idle reserved IPs (held on nodes, not used by a pod)', 'IPs', series((r) => r.series.ips.map((p) => [p[0], Math.max(0, p[1] - p[2])] as [number, number]))));
  const never = runs.map((r) => `<b style="color:${COLORS[r.policy]}">${esc(r.policy)}</b> ${r.timeToIp.never ?? r.timeToIp.withoutIp}`).join(' · ');
  const table = esc(summaryTable(runs));
  const title = esc(runs[0]?.scenario ?? '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>eni-ipam sandbox: ${title}</title>
<style>
body{font-family:system-ui,sans-serif;margin:16px 24px;color:#222;max-width:1600px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.pass{color:#1b7f3b;font-weight:600}.fail{color:#c62828;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
figure{margin:0;border:1px solid #eee;padding:4px}svg{width:100%;height:auto;display:block}
.never{font-size:1.1em;padding:6px 10px;background:#fff4f4;border-left:4px solid #c62828;display:inline-block}
details pre{background:#f6f6f6;padding:12px;overflow:auto}
</style></head>
<body><h1>eni-ipam sandbox — scenario <code>${title}</code></h1>
<p>Same scenario under ${runs.map((r) => `<b style="color:${COLORS[r.policy]}">${r.policy}</b>`).join(', ')}. Times are simulated seconds (${esc(runs[0]?.timeModel ?? 'scaled clock')}).</p>
<h2 id="summary">Summary</h2>
${goalTable(runs)}
<p class="never">Never got an IP: ${never}</p>
<h2>Over time</h2>
<div class="grid">${charts.join('\n')}</div>
${hoarders(runs)}
${ec2Section(runs)}
<section><h2>Notes</h2>${runs.flatMap((r) => [...r.notes, ...Object.entries(r.pods.pendingReasons ?? {}).map(([why, n]) => `${n} pod(s) pending at the end: ${why}`)].map((n) => `<p><b>${r.policy}</b>: ${esc(n)}</p>`)).join('\n') || '<p>none</p>'}</section>
<details><summary>Full numbers</summary><pre>${table}</pre></details>
</body></html>
`;
}
