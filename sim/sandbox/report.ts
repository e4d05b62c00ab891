// The sandbox report: its JSON shape, the end-of-run summary table, and a self-contained HTML page
// (inline SVG charts, no network) with one line per policy when comparing.

import type { AddressState } from '../../lib/enipool/accounting.ts';
import type { CensoredLatency } from './stats.ts';

export type PolicyName = 'eni-ipam' | 'aws-vpc-cni' | 'cilium';

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
  /** Secondary IPs held on nodes (reserved) vs IPs used by pods, summed over nodes. */
  idleReservedIPs: { peak: number; atEnd: number };
  subnets: {
    id: string; name: string; cidr: string; zone?: string; usable: number; peakUsed: number; peakUtilisation: number;
    /** Usable addresses by state at the last sample (eni_ipam_subnet_addresses' states; they sum to `usable`). */
    addressesAtEnd?: Record<AddressState, number>;
    /** Free addresses and free aligned /28 blocks at the end (free addresses with no free /28 is fragmentation). */
    freeAtEnd?: number; freePrefixesAtEnd?: number;
  }[];
  nodes: { name: string; instanceType: string; peakReserved: number; peakInUse: number }[];
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
  /** Up to ten stuck pods and what they carried (why they had no IP). */
  stuckExamples: string[];
}

/** t, free, used, idle, eni-primary, others (addresses of one subnet at time t). */
export type SubnetSplitPoint = [number, number, number, number, number, number];

export const MUTATING = new Set([
  'CreateNetworkInterface', 'AttachNetworkInterface', 'DetachNetworkInterface', 'DeleteNetworkInterface', 'ModifyNetworkInterfaceAttribute',
  'AssignPrivateIpAddresses', 'UnassignPrivateIpAddresses', 'CreateTags', 'DeleteTags', 'AssociateTrunkInterface', 'DisassociateTrunkInterface',
]);

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
    ['idle reserved IPs (peak / end)', (r) => `${r.idleReservedIPs.peak} / ${r.idleReservedIPs.atEnd}`],
    ['peak subnet utilisation', (r) => r.subnets.map((s) => `${s.name} ${(s.peakUtilisation * 100).toFixed(0)}%`).join(', ')],
    ['pods per node (min / max at peak)', (r) => { const v = r.nodes.map((n) => n.peakInUse); return v.length ? `${Math.min(...v)} / ${Math.max(...v)}` : '-'; }],
    ['fragmented subnets (free, no /28)', (r) => r.subnets.filter((s) => (s.freeAtEnd ?? 0) >= 16 && s.freePrefixesAtEnd === 0).map((s) => `${s.name} (${s.freeAtEnd} free)`).join(', ') || 'none'],
    ['EC2 calls (mutating)', (r) => `${r.ec2.totalCalls} (${r.ec2.mutatingCalls})`],
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
  return [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...(violations.length ? ['', 'INVARIANT VIOLATIONS:', ...violations] : [])].join('\n');
}

const COLORS: Record<PolicyName, string> = { 'eni-ipam': '#1b7f3b', 'aws-vpc-cni': '#d9822b', cilium: '#3b6fd9' };
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** An SVG line chart: one polyline per series. */
export function lineChart(title: string, yLabel: string, lines: { label: string; color: string; points: [number, number][] }[], o: { yMax?: number; percent?: boolean } = {}): string {
  const W = 640, H = 260, L = 56, R = 12, T = 28, B = 36;
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]));
  const xMax = Math.max(1, ...xs);
  const yMax = o.yMax ?? Math.max(1, ...ys) * 1.05;
  const sx = (x: number) => L + (x / xMax) * (W - L - R);
  const sy = (y: number) => H - B - (y / yMax) * (H - T - B);
  const ticks = 4;
  const grid = Array.from({ length: ticks + 1 }, (_, i) => {
    const v = (yMax * i) / ticks;
    const label = o.percent ? `${Math.round(v * 100)}%` : v >= 100 ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, '');
    return `<line x1="${L}" x2="${W - R}" y1="${sy(v)}" y2="${sy(v)}" stroke="#eee"/><text x="${L - 6}" y="${sy(v) + 4}" text-anchor="end" font-size="10">${label}</text>`;
  }).join('');
  const xt = Array.from({ length: 5 }, (_, i) => { const v = (xMax * i) / 4; return `<text x="${sx(v)}" y="${H - B + 14}" text-anchor="middle" font-size="10">${Math.round(v)}s</text>`; }).join('');
  const polys = lines.map((l) => `<polyline fill="none" stroke="${l.color}" stroke-width="2" points="${l.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(Math.min(y, yMax)).toFixed(1)}`).join(' ')}"><title>${esc(l.label)}</title></polyline>`).join('');
  const legend = lines.map((l, i) => `<rect x="${L + i * 150}" y="${H - 14}" width="10" height="10" fill="${l.color}"/><text x="${L + 14 + i * 150}" y="${H - 5}" font-size="11">${esc(l.label)}</text>`).join('');
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">
<text x="${L}" y="16" font-size="13" font-weight="bold">${esc(title)}</text><text x="12" y="${T + 10}" font-size="10" transform="rotate(-90 12 ${T + 10})" text-anchor="end">${esc(yLabel)}</text>
${grid}${xt}<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#999"/>${polys}${legend}</svg></figure>`;
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
  const charts: string[] = [];
  subnetNames.forEach((name, i) => {
    charts.push(lineChart(`Subnet ${name} utilisation`, 'addresses used', runs.map((r) => ({ label: r.policy, color: COLORS[r.policy], points: r.series.subnetUtilisation.map((p) => [p[0], p[i + 1] ?? 0] as [number, number]) })), { yMax: 1, percent: true }));
  });
  subnetNames.forEach((name, i) => {
    for (const r of runs) {
      const sub = r.subnets[i];
      const points = r.series.subnetAddresses?.[i]?.points ?? [];
      if (sub && points.length) charts.push(subnetSplitChart(`Subnet ${name} (${sub.cidr}) under ${r.policy}: used vs idle vs ENI primaries vs others vs free`, sub.usable, points));
    }
  });
  charts.push(lineChart('Pending pods (not yet bound)', 'pods', runs.map((r) => ({ label: r.policy, color: COLORS[r.policy], points: r.series.pods.map((p) => [p[0], p[1]] as [number, number]) }))));
  charts.push(lineChart('Stuck pods (bound, no IP: ContainerCreating)', 'pods', runs.map((r) => ({ label: r.policy, color: COLORS[r.policy], points: r.series.pods.map((p) => [p[0], p[2]] as [number, number]) }))));
  charts.push(lineChart('Idle reserved IPs (held on nodes, not used by a pod)', 'IPs', runs.map((r) => ({ label: r.policy, color: COLORS[r.policy], points: r.series.ips.map((p) => [p[0], Math.max(0, p[1] - p[2])] as [number, number]) }))));
  const table = esc(summaryTable(runs));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>eni-ipam sandbox: ${esc(runs[0]?.scenario ?? '')}</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;color:#222}pre{background:#f6f6f6;padding:12px;overflow:auto}figure{margin:12px 0}</style></head>
<body><h1>eni-ipam sandbox — scenario <code>${esc(runs[0]?.scenario ?? '')}</code></h1>
<p>Same scenario under ${runs.map((r) => `<b style="color:${COLORS[r.policy]}">${r.policy}</b>`).join(', ')}. Times are simulated seconds.</p>
<pre>${table}</pre>
${charts.join('\n')}
${runs.flatMap((r) => r.notes.map((n) => `<p><b>${r.policy}</b>: ${esc(n)}</p>`)).join('\n')}
</body></html>
`;
}
