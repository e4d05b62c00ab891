import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CniError, ERR, errorJSON, formatResult, parseCniArgs, parseRequest, replyVersion, validAttachments, versionAtLeast } from './spec.ts';

const conf = (v: string, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: v, name: 'eni-ipam', type: 'eni-ipam', ...extra });
const env = (cmd: string, more: Record<string, string> = {}) => ({ CNI_COMMAND: cmd, CNI_CONTAINERID: 'abc123', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...more });

test('parseRequest: the spec error code for each bad invocation', () => {
  const cases: [string, Record<string, string | undefined>, string, number | undefined][] = [
    ['valid ADD 1.0.0', env('ADD'), conf('1.0.0'), undefined],
    ['valid ADD 0.4.0', env('ADD'), conf('0.4.0'), undefined],
    ['unknown command', env('FROB'), conf('1.0.0'), ERR.invalidEnv],
    ['ADD without netns', env('ADD', { CNI_NETNS: '' }), conf('1.0.0'), ERR.invalidEnv],
    ['ADD without ifname', env('ADD', { CNI_IFNAME: '' }), conf('1.0.0'), ERR.invalidEnv],
    ['bad container id', env('ADD', { CNI_CONTAINERID: '-x' }), conf('1.0.0'), ERR.invalidEnv],
    ['DEL without netns is fine', env('DEL', { CNI_NETNS: '' }), conf('1.0.0'), undefined],
    ['stdin not JSON', env('ADD'), '{', ERR.decode],
    ['no cniVersion', env('ADD'), JSON.stringify({ name: 'n', type: 't' }), ERR.invalidConfig],
    ['unsupported version', env('ADD'), conf('0.3.1'), ERR.incompatibleVersion],
    ['future version', env('ADD'), conf('2.0.0'), ERR.incompatibleVersion],
    ['GC on 1.0.0', env('GC'), conf('1.0.0'), ERR.incompatibleVersion],
    ['STATUS on 1.0.0', env('STATUS'), conf('1.0.0'), ERR.incompatibleVersion],
    ['STATUS on 1.1.0', { CNI_COMMAND: 'STATUS' }, conf('1.1.0'), undefined],
    ['no name', env('ADD'), JSON.stringify({ cniVersion: '1.0.0', type: 't' }), ERR.invalidConfig],
    ['bad CNI_ARGS', env('ADD', { CNI_ARGS: 'novalue' }), conf('1.0.0'), ERR.invalidEnv],
    ['VERSION with any config', { CNI_COMMAND: 'VERSION' }, '', undefined],
  ];
  for (const [name, e, stdin, code] of cases) {
    if (code === undefined) { assert.doesNotThrow(() => parseRequest({ env: e, stdin }), name); continue; }
    assert.throws(() => parseRequest({ env: e, stdin }), (err: unknown) => err instanceof CniError && err.code === code, name);
  }
});

test('parseRequest: CNI_ARGS and the fields it passes on', () => {
  const r = parseRequest({ env: env('ADD', { CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0' }), stdin: conf('1.1.0') });
  assert.deepEqual([r.command, r.version, r.containerID, r.netns, r.ifname], ['ADD', '1.1.0', 'abc123', '/var/run/netns/x', 'eth0']);
  assert.equal(r.args.K8S_POD_NAME, 'web-0');
  assert.deepEqual(parseCniArgs('A=1;;B=x=y'), { A: '1', B: 'x=y' });
});

test('versions, results and errors print as the spec says', () => {
  assert.equal(versionAtLeast('1.1.0', '1.0.0'), true);
  assert.equal(versionAtLeast('0.4.0', '1.0.0'), false);
  const ips = [{ address: '10.0.1.5/32', interface: 1 }];
  assert.deepEqual(formatResult({ ips }, '0.4.0').ips, [{ address: '10.0.1.5/32', interface: 1, version: '4' }]);
  assert.deepEqual(formatResult({ ips }, '1.0.0'), { cniVersion: '1.0.0', ips });
  assert.deepEqual(errorJSON(new CniError(11, 'later'), '1.0.0'), { cniVersion: '1.0.0', code: 11, msg: 'later' });
  assert.equal(errorJSON(new Error('boom'), '1.0.0').code, ERR.dataplane);
  assert.equal(replyVersion({ env: {}, stdin: 'junk' }), '1.1.0');
  assert.equal(replyVersion({ env: {}, stdin: conf('0.4.0') }), '0.4.0');
  assert.deepEqual(validAttachments({ cniVersion: '1.1.0', name: 'n', type: 't', 'cni.dev/attachments': [{ containerID: 'a', ifname: 'eth0' }, { bad: 1 }] }), [{ containerID: 'a', ifname: 'eth0' }]);
});
