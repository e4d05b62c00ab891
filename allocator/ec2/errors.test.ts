import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, Ec2ApiError, toEc2Error } from './errors.ts';

test('classify table', () => {
  const rows: [string, string, number | undefined, string][] = [
    ['RequestLimitExceeded', 'Request limit exceeded.', 503, 'throttle'],
    ['InsufficientFreeAddressesInSubnet', '', 400, 'subnet-exhausted'],
    ['InsufficientCidrBlocks', '', 400, 'subnet-exhausted'],
    ['InvalidParameterValue', "There aren't sufficient free Ipv4 addresses or prefixes", 400, 'subnet-exhausted'],
    ['PrivateIpAddressLimitExceeded', '', 400, 'limit'],
    ['AttachmentLimitExceeded', 'Interface count 4 exceeds the limit for m5.large', 400, 'limit'],
    ['InvalidNetworkInterfaceID.NotFound', '', 400, 'notfound'],
    ['InvalidAssociationID.NotFound', '', 400, 'notfound'],
    ['UnauthorizedOperation', 'You are not authorized', 403, 'unauthorized'],
    ['InvalidParameterValue', "Instance 'i-1' already has an interface attached at device index '1'.", 400, 'device-index-conflict'],
    ['InvalidParameterValue', "Network interface 'eni-1' is currently in use.", 400, 'in-use'],
    ['IncorrectInstanceState', '', 400, 'incorrect-state'],
    ['InternalError', '', 500, 'transient'],
    ['SomethingNew', '', 502, 'transient'],
    ['InvalidParameterValue', 'bad value', 400, 'other'],
  ];
  for (const [code, msg, status, kind] of rows) assert.equal(classify(code, msg, status), kind, `${code} ${msg}`);
});

test('toEc2Error names the action and the resource', () => {
  const sdkErr = Object.assign(new Error('The networkInterface ID does not exist'), { name: 'InvalidNetworkInterfaceID.NotFound', $metadata: { httpStatusCode: 400 } });
  const e = toEc2Error(sdkErr, 'DeleteNetworkInterface', { eniId: 'eni-123', instanceId: 'i-9' });
  assert.ok(e instanceof Ec2ApiError);
  assert.equal(e.kind, 'notfound');
  assert.equal(e.code, 'InvalidNetworkInterfaceID.NotFound');
  assert.match(e.message, /^DeleteNetworkInterface \(eni eni-123, instance i-9\): InvalidNetworkInterfaceID.NotFound: /);
  assert.equal(e.cause, sdkErr);
  const net = toEc2Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'DescribeSubnets', {});
  assert.equal(net.kind, 'transient');
  assert.equal(toEc2Error(e, 'X', {}), e, 'already wrapped');
});
