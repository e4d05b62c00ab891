// The chart's monitoring with Debian's promtool (installed by .ci/run): the alert rules rendered with
// the chart's default values pass `promtool check rules` and the unit tests of
// test/prometheus/alerts.test.yaml (each alert fires and stays silent); every query of the Grafana
// dashboard parses (as recording rules under `promtool check rules`), names metrics the code exports,
// and uses the templated data source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { toolPath } from './tools.ts';

const repo = new URL('../', import.meta.url).pathname;
const chart = join(repo, 'charts/eni-ipam');
const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as Record<string, unknown>;

function promtool(...args: string[]): string {
  const bin = toolPath('promtool');
  assert.ok(bin, 'promtool not found: .ci/run installs it (Debian package prometheus)');
  try {
    return execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
  }
}

/**
 * Renders files/alerts.yaml as `tpl` would with the default values. Only the two forms the file uses
 * are understood — `{{ .Values.a.b }}` and the escapes `{{ "{{" }}` / `{{ "}}" }}` — and anything else
 * fails, so the file cannot grow template logic this test does not check.
 */
export function renderAlerts(src: string, vals: Record<string, unknown>): string {
  const OPEN = '\u0000open\u0000', CLOSE = '\u0000close\u0000';
  const escaped = src.replaceAll('{{ "{{" }}', OPEN).replaceAll('{{ "}}" }}', CLOSE);
  return escaped.replace(/\{\{(.*?)\}\}/g, (whole, inner: string) => {
    const m = /^\.Values\.([\w.]+)$/.exec(inner.trim());
    if (!m) throw new Error(`files/alerts.yaml: unsupported template action ${whole}`);
    let v: unknown = vals;
    for (const k of m[1]!.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
    if (v === undefined || typeof v === 'object') throw new Error(`files/alerts.yaml: ${whole} is not a scalar in values.yaml`);
    return String(v);
  }).replaceAll(OPEN, '{{').replaceAll(CLOSE, '}}');
}

function tmp(): string { return mkdtempSync(join(tmpdir(), 'eni-ipam-promtool-')); }

/** Every metric name the code registers (prom-client `name: 'eni_ipam_…'`). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      if (e === 'node_modules' || e.startsWith('.')) continue;
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/name: '(eni_ipam_[a-z0-9_]+)'/g)) names.add(m[1]!);
    }
  };
  for (const d of ['allocator', 'webhook', 'extender', 'lib', 'agent']) { try { walk(join(repo, d)); } catch { /* folder absent */ } }
  return names;
}

function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(eni_ipam_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

test('alerts: promtool check rules and promtool test rules (every alert fires and stays silent)', () => {
  const dir = tmp();
  try {
    const rendered = renderAlerts(readFileSync(join(chart, 'files/alerts.yaml'), 'utf8'), values);
    writeFileSync(join(dir, 'alerts.yaml'), rendered);
    copyFileSync(join(repo, 'test/prometheus/alerts.test.yaml'), join(dir, 'alerts.test.yaml'));
    assert.match(promtool('check', 'rules', join(dir, 'alerts.yaml')), /SUCCESS: 6 rules found/);
    assert.match(promtool('test', 'rules', join(dir, 'alerts.test.yaml')), /SUCCESS/);

    // Every alert has a unit test that expects it to fire and one that expects silence.
    const groups = (parse(rendered) as { groups: { rules: { alert: string; expr: string }[] }[] }).groups;
    const tests = (parse(readFileSync(join(dir, 'alerts.test.yaml'), 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[] }).tests.flatMap((t) => t.alert_rule_test);
    const known = exportedMetrics();
    for (const r of groups.flatMap((g) => g.rules)) {
      assert.ok(tests.some((t) => t.alertname === r.alert && t.exp_alerts.length > 0), `${r.alert}: no test where it fires`);
      assert.ok(tests.some((t) => t.alertname === r.alert && t.exp_alerts.length === 0), `${r.alert}: no test where it stays silent`);
      for (const m of metricsIn(r.expr)) assert.ok(known.has(m), `${r.alert} uses ${m}, which no code exports`);
    }
    // A broken threshold is caught: the unit tests are not vacuous.
    writeFileSync(join(dir, 'alerts.yaml'), rendered.replace(/\* 100 > \d+/, '* 100 > 99'));
    assert.throws(() => promtool('test', 'rules', join(dir, 'alerts.test.yaml')), /FAILED/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('alerts: the renderer refuses template logic it does not understand', () => {
  assert.equal(renderAlerts('a {{ .Values.x.y }} {{ "{{" }} $labels.n {{ "}}" }}', { x: { y: 5 } }), 'a 5 {{ $labels.n }}');
  assert.throws(() => renderAlerts('{{ if .Values.x }}', { x: 1 }), /unsupported/);
  assert.throws(() => renderAlerts('{{ .Values.missing }}', {}), /not a scalar/);
});

interface Panel { id: number; type: string; title: string; datasource?: { type?: string; uid?: string }; targets?: { expr: string; refId: string; datasource?: { uid?: string } }[]; panels?: Panel[] }

test('dashboard: every panel query parses with promtool, names exported metrics, and uses the templated data source', () => {
  const dash = JSON.parse(readFileSync(join(chart, 'dashboards/eni-ipam.json'), 'utf8')) as { uid: string; templating: { list: { name: string; type: string; query: unknown }[] }; panels: Panel[] };
  const dsVar = dash.templating.list.find((v) => v.type === 'datasource');
  assert.ok(dsVar && dsVar.name === 'datasource' && dsVar.query === 'prometheus', 'a data source variable of type prometheus');
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
  assert.ok(panels.length >= 10);
  const known = exportedMetrics();
  const rules: { record: string; expr: string }[] = [];
  for (const p of panels) {
    assert.equal(p.datasource?.uid, '${datasource}', `panel "${p.title}" uses the templated data source`);
    assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
    for (const t of p.targets!) {
      assert.equal(t.datasource?.uid, '${datasource}', `panel "${p.title}" ${t.refId}: templated data source`);
      for (const m of metricsIn(t.expr)) assert.ok(known.has(m), `panel "${p.title}" uses ${m}, which no code exports`);
      // Grafana's variables, as Grafana substitutes them, so promtool parses what Prometheus will get.
      const expr = t.expr.replace(/\$__rate_interval|\$__interval/g, '5m').replace(/\$subnet/g, '.*');
      assert.doesNotMatch(expr, /\$/, `panel "${p.title}" ${t.refId}: unknown variable in ${t.expr}`);
      rules.push({ record: `eni_ipam:dashboard_panel_${p.id}_${t.refId}`, expr });
    }
  }
  // The panels the issue asks for.
  for (const want of [/subnet use/i, /idle vs used/i, /creation to reservation/i, /reservation to usable/i, /refused/i, /EC2 calls/i, /throttling/i, /leader/i]) {
    assert.ok(panels.some((p) => want.test(p.title)), `a panel matching ${want}`);
  }
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'dashboard.rules.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    assert.match(promtool('check', 'rules', join(dir, 'dashboard.rules.yaml')), new RegExp(`SUCCESS: ${rules.length} rules found`));
    // promtool does reject a broken query (the check is not vacuous).
    writeFileSync(join(dir, 'broken.rules.yaml'), stringify({ groups: [{ name: 'b', rules: [{ record: 'x', expr: 'sum by (state (eni_ipam_subnet_size)' }] }] }));
    assert.throws(() => promtool('check', 'rules', join(dir, 'broken.rules.yaml')), /FAILED|parse error|unexpected/i);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('chart: the dashboard ConfigMap and PrometheusRule read the files they name', () => {
  const cm = readFileSync(join(chart, 'templates/grafana-dashboard.yaml'), 'utf8');
  assert.match(cm, /\.Files\.Get "dashboards\/eni-ipam\.json"/);
  const rule = readFileSync(join(chart, 'templates/prometheusrule.yaml'), 'utf8');
  assert.match(rule, /tpl \(\.Files\.Get "files\/alerts\.yaml"\) \./);
});

// HELM wins, then the helm built by scripts/k8s/build.sh (test/tools.ts); .ci/run builds it.
const helm = process.env.HELM ?? toolPath('helm');

test('helm template with every metrics object on: PrometheusRule passes promtool, dashboard ConfigMap carries the JSON, monitors select the pods', { skip: helm ? false : 'no helm binary (scripts/k8s/build.sh builds it)' }, () => {
  const r = spawnSync(helm!, ['template', 'r1', chart, '--namespace', 'eni-ipam', '--set', 'clusterName=test-cluster', '--set', 'allocator.region=eu-west-1',
    ...['podMonitor', 'serviceMonitor', 'prometheusRule', 'grafanaDashboard'].flatMap((k) => ['--set', `metrics.${k}.enabled=true`]), '--set', 'metrics.prometheusRule.subnetUsedPercent=85'],
  { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HELM_CACHE_HOME: '/tmp/eni-ipam-helm', HELM_CONFIG_HOME: '/tmp/eni-ipam-helm', HELM_DATA_HOME: '/tmp/eni-ipam-helm' } });
  assert.equal(r.status, 0, `helm template failed: ${r.stderr}`);
  const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; labels?: Record<string, string> }; spec?: Record<string, unknown>; data?: Record<string, string> }).filter(Boolean);
  const kind = (k: string) => docs.filter((d) => d.kind === k);
  const rule = kind('PrometheusRule')[0];
  assert.ok(rule, 'a PrometheusRule');
  const dir = tmp();
  try {
    writeFileSync(join(dir, 'rendered.yaml'), stringify({ groups: rule.spec!.groups }));
    assert.match(promtool('check', 'rules', join(dir, 'rendered.yaml')), /SUCCESS: 6 rules found/);
    assert.match(readFileSync(join(dir, 'rendered.yaml'), 'utf8'), /\* 100 > 85/, 'thresholds come from values');
  } finally { rmSync(dir, { recursive: true, force: true }); }
  const cm = kind('ConfigMap').find((d) => d.metadata?.name === 'r1-eni-ipam-dashboard');
  assert.equal(cm?.metadata?.labels?.grafana_dashboard, '1');
  assert.equal(JSON.parse(cm!.data!['eni-ipam.json']!).uid, 'eni-ipam');
  assert.equal(kind('PodMonitor').length, 1);
  assert.equal(kind('ServiceMonitor').length, 1);
  assert.ok(kind('Service').some((d) => d.metadata?.name === 'r1-eni-ipam-allocator-metrics'), 'a metrics Service for the allocator');
  // values.schema.json refuses nonsense thresholds and modes.
  for (const bad of ['metrics.prometheusRule.subnetUsedPercent=150', 'allocator.nodeMetrics=some', 'metrics.podMonitor.interval=often']) {
    const b = spawnSync(helm!, ['template', 'r1', chart, '--set', 'clusterName=c', '--set', 'allocator.region=eu-west-1', '--set', bad], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HELM_CACHE_HOME: '/tmp/eni-ipam-helm', HELM_CONFIG_HOME: '/tmp/eni-ipam-helm', HELM_DATA_HOME: '/tmp/eni-ipam-helm' } });
    assert.notEqual(b.status, 0, `helm accepted ${bad}`);
    assert.match(b.stderr, /schema/i, bad);
  }
});
