// ec2-sim behaviour beyond single actions: throttling, fault injection, eventual consistency, DryRun,
// protocol edge cases over raw HTTP, snapshot/restore, the admin HTTP endpoint, ScaledClock.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand,
} from '@aws-sdk/client-ec2';
import { ManualClock, ScaledClock, type Clock } from '../../lib/clock.ts';
import { ec2Client, startEc2Sim, type Ec2Sim, type Ec2SimOptions } from './index.ts';

const sims: Ec2Sim[] = [];
after(async () => { await Promise.all(sims.map((s) => s.close())); });

async function setup(o: Partial<Ec2SimOptions> & { clock?: Clock } = {}) {
  const clock = o.clock ?? new ManualClock();
  const sim = await startEc2Sim({ throttle: { disabled: true }, ...o, clock });
  sims.push(sim);
  const vpc = sim.admin.createVpc('10.0.0.0/16');
  const subnet = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.0.1.0/24', zone: 'us-east-1a' });
  return { sim, clock, vpc, subnet, ec2: ec2Client(sim.endpoint) };
}

type SdkErr = { name: string; message: string; $metadata: { httpStatusCode?: number } };
async function errOf(p: Promise<unknown>): Promise<SdkErr> {
  try { await p; } catch (e) { return e as SdkErr; }
  assert.fail('expected the call to fail');
}

async function raw(endpoint: string, body: string, init: { method?: string; path?: string } = {}) {
  const res = await fetch(endpoint + (init.path ?? '/'), {
    method: init.method ?? 'POST', body: init.method === 'GET' ? undefined : body,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  return { status: res.status, text: await res.text() };
}
const codeOf = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

test('throttling: a scaled-down bucket answers RequestLimitExceeded (503) and refills with the clock', async () => {
  const clock = new ManualClock();
  const { sim, subnet, ec2 } = await setup({ clock, throttle: { scale: 0.1 } });
  // CreateNetworkInterface: 100/5 → 10 tokens, 0.5 per second.
  const create = () => ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet }));
  for (let k = 0; k < 10; k++) await create();
  const e = await errOf(create());
  assert.equal(e.name, 'RequestLimitExceeded');
  assert.equal(e.$metadata.httpStatusCode, 503);
  // Other actions have their own buckets.
  await ec2.send(new DescribeSubnetsCommand({}));
  clock.advance(1999);
  assert.equal((await errOf(create())).name, 'RequestLimitExceeded');
  clock.advance(1);
  await create();
  const stats = sim.admin.callStats();
  assert.deepEqual(stats.CreateNetworkInterface, { ok: 11, throttled: 2, errors: 0 });
  assert.deepEqual(stats.DescribeSubnets, { ok: 1, throttled: 0, errors: 0 });
  sim.admin.resetCallStats();
  assert.deepEqual(sim.admin.callStats(), {});
});

test('throttling: unfiltered DescribeNetworkInterfaces uses the smaller bucket; overrides and disable apply', async () => {
  const { sim, ec2 } = await setup({ throttle: { scale: 0.1 } });
  const unfiltered = () => ec2.send(new DescribeNetworkInterfacesCommand({}));
  const filtered = () => ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }));
  for (let k = 0; k < 5; k++) await unfiltered(); // 50 * 0.1
  assert.equal((await errOf(unfiltered())).name, 'RequestLimitExceeded');
  for (let k = 0; k < 10; k++) await filtered(); // 100 * 0.1
  assert.equal((await errOf(filtered())).name, 'RequestLimitExceeded');
  sim.admin.setThrottle({ overrides: { DescribeSubnets: { capacity: 2, refillPerSecond: 0 } } });
  await ec2.send(new DescribeSubnetsCommand({}));
  await ec2.send(new DescribeSubnetsCommand({}));
  assert.equal((await errOf(ec2.send(new DescribeSubnetsCommand({})))).name, 'RequestLimitExceeded');
  sim.admin.setThrottle({ disabled: true });
  for (let k = 0; k < 20; k++) await ec2.send(new DescribeSubnetsCommand({}));
});

test('fault injection: UnauthorizedOperation 403 with count; seeded probability is reproducible; latency uses the clock', async () => {
  const { sim, ec2, subnet, clock } = await setup({ seed: 7 });
  sim.admin.injectFault('CreateNetworkInterface', { code: 'UnauthorizedOperation', probability: 1, count: 2 });
  for (let k = 0; k < 2; k++) {
    const e = await errOf(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet })));
    assert.equal(e.name, 'UnauthorizedOperation');
    assert.equal(e.$metadata.httpStatusCode, 403);
  }
  await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet }));
  assert.deepEqual(sim.admin.callStats().CreateNetworkInterface, { ok: 1, throttled: 0, errors: 2 });

  const outcomes = async (s: Ec2Sim) => {
    s.admin.injectFault('DescribeSubnets', { code: 'InternalError', probability: 0.5 });
    const c = ec2Client(s.endpoint);
    const out: string[] = [];
    for (let k = 0; k < 40; k++) out.push(await c.send(new DescribeSubnetsCommand({})).then(() => 'ok', (e: SdkErr) => `${e.name}/${e.$metadata.httpStatusCode}`));
    return out;
  };
  const a = await outcomes((await setup({ seed: 42 })).sim);
  const b = await outcomes((await setup({ seed: 42 })).sim);
  assert.deepEqual(a, b);
  const failures = a.filter((x) => x !== 'ok');
  assert.ok(failures.length > 8 && failures.length < 32, `about half should fail, got ${failures.length}`);
  assert.ok(failures.every((x) => x === 'InternalError/500'));

  sim.admin.clearFaults();
  sim.admin.injectFault('DescribeSubnets', { code: 'Unused', probability: 0, latencyMs: 500 });
  let done = false;
  const manual = clock as ManualClock;
  const parked = manual.pendingTimers();
  const p = ec2.send(new DescribeSubnetsCommand({})).then(() => { done = true; });
  // Wait (however long the machine takes) until the request is parked on the clock's 500 ms timer.
  for (const giveUp = performance.now() + 60_000; manual.pendingTimers() === parked;) {
    assert.ok(performance.now() < giveUp, 'the request never reached the simulator');
    await new Promise((r) => setTimeout(r, 5));
  }
  manual.advance(499);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false, 'held until the clock moves');
  manual.advance(1);
  await p;
  assert.equal(done, true);
});

test('eventual consistency: a new ENI is invisible to Describe* for consistencyDelayMs', async () => {
  const { ec2, subnet, clock } = await setup({ consistencyDelayMs: 500 });
  const id = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet }))).NetworkInterface!.NetworkInterfaceId!;
  assert.equal((await errOf(ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] })))).name, 'InvalidNetworkInterfaceID.NotFound');
  assert.equal((await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces!.length, 0);
  (clock as ManualClock).advance(500);
  assert.equal((await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!.NetworkInterfaceId, id);
});

test('DryRun answers DryRunOperation (412) and changes nothing', async () => {
  const { ec2, subnet, sim } = await setup();
  const e = await errOf(ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet, DryRun: true })));
  assert.equal(e.name, 'DryRunOperation');
  assert.equal(e.$metadata.httpStatusCode, 412);
  assert.equal(sim.admin.listEnis().length, 0);
});

test('protocol edges over raw HTTP: error XML shape, unknown action, missing params, bad values, body cap, GET', async () => {
  const { sim, subnet } = await setup({ maxBodyBytes: 4096 });
  const ep = sim.endpoint;
  const cases: [string, number, string][] = [
    ['Action=Nope&Version=2016-11-15', 400, 'InvalidAction'],
    ['Version=2016-11-15', 400, 'MissingAction'],
    ['Action=DescribeSubnets', 400, 'MissingParameter'],
    ['Action=DescribeSubnets&Version=2010-01-01', 400, 'InvalidParameterValue'],
    ['Action=CreateNetworkInterface&Version=2016-11-15', 400, 'MissingParameter'],
    [`Action=CreateNetworkInterface&Version=2016-11-15&SubnetId=${subnet}&SecondaryPrivateIpAddressCount=abc`, 400, 'InvalidParameterValue'],
    ['Action=AttachNetworkInterface&Version=2016-11-15&NetworkInterfaceId=eni-1&InstanceId=i-1', 400, 'MissingParameter'],
    ['Action=DescribeNetworkInterfaces&Version=2016-11-15&Filter.1.Value.1=x', 400, 'InvalidParameterValue'],
    ['Action=DescribeNetworkInterfaces&Version=2016-11-15&Filter.1.Name=status', 400, 'InvalidParameterValue'],
    ['Action=DescribeNetworkInterfaces&Version=2016-11-15&DryRun=maybe', 400, 'InvalidParameterValue'],
    ['Action=DescribeNetworkInterfaces&Version=2016-11-15&NextToken=%FF%FE', 400, 'InvalidParameterValue'],
    ['Action=toString&Version=2016-11-15', 400, 'InvalidAction'],
    ['Action=CreateTags&Version=2016-11-15&ResourceId.1=foo-1&Tag.1.Key=a', 400, 'InvalidID'],
    ['%%%&&&==', 400, 'MissingAction'],
  ];
  for (const [body, status, code] of cases) {
    const r = await raw(ep, body);
    assert.equal(r.status, status, `${body} → ${r.text}`);
    assert.equal(codeOf(r.text), code, body);
    assert.match(r.text, /^<\?xml[^>]*\?><Response><Errors><Error><Code>[^<]+<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/);
  }
  const big = await raw(ep, 'Action=DescribeSubnets&Version=2016-11-15&x=' + 'a'.repeat(5000));
  assert.equal(big.status, 413);
  assert.equal(codeOf(big.text), 'RequestEntityTooLarge');
  const ok = await raw(ep, '', { method: 'GET', path: '/?Action=DescribeSubnets&Version=2016-11-15' });
  assert.equal(ok.status, 200);
  assert.match(ok.text, /^<\?xml[^>]*\?><DescribeSubnetsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><subnetSet><item><subnetId>subnet-/);
  assert.equal((await raw(ep, '', { method: 'DELETE' })).status, 405);
  assert.equal((await raw(ep, 'x', { path: '/other' })).status, 404);
  // Still serving after all of that.
  assert.equal((await raw(ep, 'Action=DescribeSubnets&Version=2016-11-15')).status, 200);
});

test('snapshot/restore keeps ENIs, attachments in flight, addresses and tags', async () => {
  const { sim, ec2, subnet, clock } = await setup({ attachLatencyMs: 1000 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet, tags: { Name: 'n1' } });
  const id = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet, SecondaryPrivateIpAddressCount: 4, Ipv4PrefixCount: 1 }))).NetworkInterface!.NetworkInterfaceId!;
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: inst.instanceId, DeviceIndex: 1 }));
  const snap = JSON.parse(JSON.stringify(sim.admin.snapshot())) as unknown;
  const other = await startEc2Sim({ clock, throttle: { disabled: true } });
  sims.push(other);
  other.admin.restore(snap);
  assert.deepEqual(other.admin.listEnis(), sim.admin.listEnis());
  assert.equal(other.admin.subnetFree(subnet), sim.admin.subnetFree(subnet));
  assert.deepEqual(other.admin.instance(inst.instanceId), sim.admin.instance(inst.instanceId));
  (clock as ManualClock).advance(1000);
  const n = (await ec2Client(other.endpoint).send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
  assert.equal(n.Attachment?.Status, 'attached');
  // A new ENI in the restored sim does not reuse a taken address.
  const fresh = await ec2Client(other.endpoint).send(new CreateNetworkInterfaceCommand({ SubnetId: subnet }));
  const taken = new Set(sim.admin.listEnis().flatMap((e) => e.privateIps.map((p) => p.address)));
  assert.equal(taken.has(fresh.NetworkInterface!.PrivateIpAddress!), false);
  assert.throws(() => other.admin.restore({ nope: true }), /snapshot/);
});

test('admin HTTP endpoint validates JSON and drives the sim', async () => {
  const { sim } = await setup();
  const post = async (op: string, body: unknown) => {
    const r = await fetch(`${sim.endpoint}/admin/${op}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
    return { status: r.status, json: (await r.json()) as Record<string, unknown> };
  };
  const vpc = await post('createVpc', { cidr: '10.1.0.0/16' });
  assert.equal(vpc.status, 200);
  assert.match(String(vpc.json.vpcId), /^vpc-/);
  const sn = await post('createSubnet', { vpcId: vpc.json.vpcId, cidr: '10.1.0.0/28', zone: 'us-east-1c' });
  assert.equal(sn.status, 200);
  const inst = await post('runInstance', { instanceType: 'm5.large', subnetId: sn.json.subnetId });
  assert.equal(inst.status, 200);
  assert.equal(sim.admin.subnetFree(String(sn.json.subnetId)), 10);
  assert.equal((await post('createSubnet', { vpcId: 'x' })).status, 400);
  assert.equal((await post('createVpc', '{not json')).status, 400);
  assert.equal((await post('createVpc', { cidr: '10.0.0.0/8' })).status, 400);
  assert.equal((await post('injectFault', { action: 'X', fault: { code: 'Y', probability: 2 } })).status, 400);
  assert.equal((await post('nope', {})).status, 404);
  const enis = await fetch(`${sim.endpoint}/admin/enis`);
  assert.equal(((await enis.json()) as unknown[]).length, 1);
});

test('ScaledClock: attach completes after attachLatencyMs of scaled time', async () => {
  const clock = new ScaledClock(100);
  const { sim, ec2, subnet } = await setup({ clock, attachLatencyMs: 1000 });
  const inst = sim.admin.runInstance({ instanceType: 'm5.large', subnetId: subnet });
  const id = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet }))).NetworkInterface!.NetworkInterfaceId!;
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: inst.instanceId, DeviceIndex: 1 }));
  await clock.sleep(3_000); // 30 ms of real time, at least
  const n = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces![0]!;
  assert.equal(n.Attachment?.Status, 'attached');
});

test('latency profile: a call answers after its action latency of clock time, jittered per call', async () => {
  const clock = new ScaledClock(100);
  const { ec2 } = await setup({ clock, latency: { perActionMs: { DescribeSubnets: 1000 }, defaultMs: 0, jitter: 0.1 } });
  const took: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = clock.now();
    await ec2.send(new DescribeSubnetsCommand({}));
    took.push(clock.now() - t0);
  }
  for (const t of took) assert.ok(t >= 900, `DescribeSubnets took ${t} clock ms`);
  assert.ok(new Set(took.map((t) => Math.round(t / 10))).size > 1, `jitter: ${took.join(', ')}`);
});

test('secondary VPC CIDR blocks: subnets may use them; overlap, bad ranges and a sixth block are refused', async () => {
  const { sim, vpc, ec2 } = await setup();
  assert.throws(() => sim.admin.createSubnet({ vpcId: vpc, cidr: '10.1.0.0/16', zone: 'us-east-1a' }), /outside VPC/);
  sim.admin.addVpcCidr(vpc, '10.1.0.0/16');
  const s2 = sim.admin.createSubnet({ vpcId: vpc, cidr: '10.1.0.0/16', zone: 'us-east-1a' });
  const d = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [s2] }));
  assert.equal(d.Subnets?.[0]?.CidrBlock, '10.1.0.0/16');
  assert.throws(() => sim.admin.addVpcCidr(vpc, '10.1.128.0/17'), /overlaps 10.1.0.0\/16/);
  assert.throws(() => sim.admin.addVpcCidr(vpc, '10.2.0.0/15'), /invalid/);
  for (const c of ['10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16']) sim.admin.addVpcCidr(vpc, c);
  assert.throws(() => sim.admin.addVpcCidr(vpc, '10.5.0.0/16'), /limit is 5/);
});
