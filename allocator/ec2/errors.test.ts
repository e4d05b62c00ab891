import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, Ec2ApiError, toEc2Error } from './errors.ts';

test('classify table: by code (and action for InvalidParameterValue), never by message', () => {
  const rows: [string, number | undefined, string | undefined, string][] = [
    ['RequestLimitExceeded', 503, undefined, 'throttle'],
    ['InsufficientFreeAddressesInSubnet', 400, undefined, 'subnet-exhausted'],
    ['InsufficientCidrBlocks', 400, undefined, 'no-free-prefix'],
    ['PrivateIpAddressLimitExceeded', 400, undefined, 'limit'],
    ['AttachmentLimitExceeded', 400, undefined, 'limit'],
    ['InvalidNetworkInterfaceID.NotFound', 400, undefined, 'notfound'],
    ['InvalidAssociationID.NotFound', 400, undefined, 'notfound'],
    ['UnauthorizedOperation', 403, undefined, 'unauthorized'],
    ['InvalidNetworkInterface.InUse', 400, 'DeleteNetworkInterface', 'in-use'],
    ['InvalidParameterValue', 400, 'DeleteNetworkInterface', 'in-use'],
    ['InvalidParameterValue', 400, 'AttachNetworkInterface', 'invalid-parameter'],
    ['InvalidParameterValue', 400, 'AssignPrivateIpAddresses', 'invalid-parameter'],
    ['InvalidParameterValue', 400, undefined, 'invalid-parameter'],
    ['IncorrectInstanceState', 400, undefined, 'incorrect-state'],
    ['InternalError', 500, undefined, 'transient'],
    ['SomethingNew', 502, undefined, 'transient'],
    ['SomethingNew', 400, undefined, 'other'],
  ];
  for (const [code, status, action, kind] of rows) assert.equal(classify(code, status, action), kind, `${code} ${action ?? ''}`);
  // The same code with any message classifies the same.
  for (const msg of ["There aren't sufficient free Ipv4 addresses", "already has an interface attached at device index '1'", 'is currently in use', 'limit reached']) {
    assert.equal(toEc2Error(Object.assign(new Error(msg), { name: 'InvalidParameterValue' }), 'AssignPrivateIpAddresses', {}).kind, 'invalid-parameter', msg);
  }
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
