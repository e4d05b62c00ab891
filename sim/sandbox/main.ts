// `eni-ipam sandbox`: the whole system on the embedded simulators. Composition root: reads argv,
// builds the logger, runs the scenario under one policy or all three, prints the summary and writes
// the JSON and HTML reports. Exit status 1 when an eni-ipam invariant was violated.
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { createLogger } from '../../lib/log.ts';
import { realClock } from '../../lib/clock.ts';
import { LOG_FLAGS, parseCommandLine, type CommandSpec } from '../../lib/flags.ts';
import { listShippedScenarios, loadScenario, scaleScenario } from './scenario.ts';
import { runScenario, type Progress } from './runner.ts';
import type { KubeKind } from './kube-backend.ts';
import { htmlReport, invariantViolations, summaryTable, type PolicyName, type RunReport } from './report.ts';

/** What --compare runs; --policy also takes Cilium with its opt-in --aws-release-excess-ips. */
const POLICIES = ['eni-ipam', 'aws-vpc-cni', 'cilium'] as const satisfies readonly PolicyName[];
const CHOICES = [...POLICIES, 'cilium-release-excess'] as const satisfies readonly PolicyName[];

export const SPEC = {
  command: 'sandbox',
  summary: 'The whole system on the embedded simulators: replays a scenario, prints a summary, writes reports.',
  envPrefix: 'ENI_IPAM_SANDBOX_',
  flags: {
    scenario: { kind: 'string', metavar: 'NAME|FILE', default: 'default', help: `a shipped scenario (${listShippedScenarios().join(', ')}) or a YAML file` },
    speed: { kind: 'number', min: 0.001, help: "simulated seconds per real second (default: the scenario's)" },
    policy: { kind: 'string', choices: CHOICES, default: 'eni-ipam', help: 'which system runs the cluster (cilium-release-excess: Cilium with --aws-release-excess-ips)' },
    compare: { kind: 'boolean', help: 'run the scenario under all three policies and print them side by side' },
    kube: { kind: 'string', choices: ['sim', 'real'], default: 'sim', help: 'sim: the embedded kube-sim; real: etcd, kube-apiserver and kube-scheduler built by scripts/k8s/build.sh, as local processes (runs at 1x: they keep real time)' },
    report: { kind: 'string', metavar: 'PATH', help: 'where the JSON report goes (default reports/<scenario>.json); the HTML report goes next to it' },
    scale: { kind: 'number', min: 0.001, max: 1, help: 'shrink node and pod counts by this factor, for quick looks' },
    ...LOG_FLAGS,
  },
  notes: '--log-level sets the level of the component logs written next to the report.',
} as const satisfies CommandSpec;

function progressPrinter(label: string): { update(p: Progress): void; stop(): void } {
  if (process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {percentage}% | t={t}s nodes={nodes} pods={created} running={running} pending={pending} stuck={stuck}`, hideCursor: true }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      // Started on the first update so the endpoint lines print above it.
      update: (p) => {
        if (!started) { bar.start(100, 0, { t: 0, nodes: 0, created: 0, running: 0, pending: 0, stuck: 0 }); started = true; }
        bar.update(Math.min(100, Math.round((p.t / p.duration) * 100)), { ...p, t: Math.round(p.t) });
      },
      stop: () => { if (started) bar.stop(); },
    };
  }
  let lastPrinted = -Infinity;
  return {
    update: (p) => {
      if (p.t - lastPrinted < p.duration / 10) return;
      lastPrinted = p.t;
      console.log(`${label}: t=${Math.round(p.t)}/${p.duration}s nodes=${p.nodes} pods=${p.created} running=${p.running} pending=${p.pending} stuck=${p.stuck}`);
    },
    stop: () => undefined,
  };
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  // The pinned SDK runs on Node 20; its notice that later releases need Node 22 would only clutter the
  // sandbox's console (it is a note in the README instead).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const policy = values.policy as PolicyName;
  const kube = values.kube as KubeKind;
  let speed = values.speed;
  if (kube === 'real') {
    if (speed !== undefined && speed !== 1) console.error('eni-ipam sandbox: --kube real runs at 1x (the real apiserver and kube-scheduler keep real time); ignoring --speed');
    speed = 1;
  }
  let scenario = loadScenario(values.scenario);
  if (values.scale !== undefined) scenario = scaleScenario(scenario, values.scale);
  const reportPath = resolve(values.report ?? `reports/${scenario.name}.json`);
  mkdirSync(dirname(reportPath), { recursive: true });
  // Component logs go to a file so the console shows progress and the summary only.
  const logPath = reportPath.replace(/\.json$/, '') + '.log';
  const logStream = createWriteStream(logPath);
  const logger = createLogger({ name: 'sandbox', clock: realClock(), level: values['log-level'], destination: logStream });

  console.log(`eni-ipam sandbox: scenario "${scenario.name}" (${scenario.description ?? ''})`);
  console.log(`  ${scenario.durationSeconds} simulated seconds at ${speed ?? scenario.speed ?? 20}x; policies: ${(values.compare ? POLICIES : [policy]).join(', ')}`);
  const runs: RunReport[] = [];
  for (const p of values.compare ? POLICIES : [policy]) {
    const bar = progressPrinter(p);
    try {
      runs.push(await runScenario({
        scenario, policy: p, speed, kube, logger, onProgress: bar.update,
        onEndpoints: (e, kubectl) => {
          console.log(`  ${p}: ${Object.entries(e).map(([k, v]) => `${k} ${v}`).join(', ')}`);
          console.log(`  look around: ${kubectl} get nodes,enipools,pods -A`);
        },
      }));
    } finally { bar.stop(); }
  }
  console.log('');
  console.log(summaryTable(runs));
  writeFileSync(reportPath, JSON.stringify(runs.length === 1 ? runs[0] : { scenario: scenario.name, runs }, null, 2));
  const htmlPath = reportPath.replace(/\.json$/, '') + '.html';
  writeFileSync(htmlPath, htmlReport(runs));
  await new Promise<void>((r) => logStream.end(r));
  console.log(`\nreports: ${reportPath}\n         ${htmlPath}\nlogs:    ${logPath}`);
  const violations = runs.filter((r) => r.policy === 'eni-ipam').reduce((a, r) => a + invariantViolations(r), 0);
  if (violations > 0) { console.error(`eni-ipam sandbox: ${violations} invariant violation(s)`); return 1; }
  return 0;
}
