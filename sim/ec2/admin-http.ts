// Optional JSON control plane for a standalone simulator (`eni-ipam ec2-sim`): the same operations
// as Ec2SimAdmin over HTTP, for scripts and other processes. Bodies are validated with ajv.
import { Ajv, type ValidateFunction } from 'ajv';
import { Ec2Error } from './errors.ts';
import type { Ec2SimAdmin } from './types.ts';

const tagMap = { type: 'object', additionalProperties: { type: 'string', maxLength: 256 }, maxProperties: 50 };
const bucket = { type: 'object', required: ['capacity', 'refillPerSecond'], additionalProperties: false, properties: { capacity: { type: 'number', minimum: 0 }, refillPerSecond: { type: 'number', minimum: 0 } } };

const SCHEMAS: Record<string, object> = {
  createVpc: { type: 'object', required: ['cidr'], additionalProperties: false, properties: { cidr: { type: 'string', maxLength: 18 } } },
  createSubnet: { type: 'object', required: ['vpcId', 'cidr', 'zone'], additionalProperties: false, properties: { vpcId: { type: 'string', maxLength: 64 }, cidr: { type: 'string', maxLength: 18 }, zone: { type: 'string', minLength: 1, maxLength: 64 }, tags: tagMap } },
  runInstance: { type: 'object', required: ['instanceType', 'subnetId'], additionalProperties: false, properties: { instanceType: { type: 'string', maxLength: 64 }, subnetId: { type: 'string', maxLength: 64 }, securityGroups: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 64 } }, tags: tagMap } },
  terminateInstance: { type: 'object', required: ['instanceId'], additionalProperties: false, properties: { instanceId: { type: 'string', maxLength: 64 } } },
  injectFault: {
    type: 'object', required: ['action', 'fault'], additionalProperties: false,
    properties: {
      action: { type: 'string', minLength: 1, maxLength: 64 },
      fault: { type: 'object', required: ['code', 'probability'], additionalProperties: false, properties: { code: { type: 'string', minLength: 1, maxLength: 100 }, httpStatus: { type: 'integer', minimum: 400, maximum: 599 }, probability: { type: 'number', minimum: 0, maximum: 1 }, latencyMs: { type: 'number', minimum: 0 }, count: { type: 'integer', minimum: 1 }, message: { type: 'string', maxLength: 500 } } },
    },
  },
  setThrottle: { type: 'object', additionalProperties: false, properties: { scale: { type: 'number', exclusiveMinimum: 0 }, disabled: { type: 'boolean' }, overrides: { type: 'object', additionalProperties: bucket } } },
  restore: { type: 'object', required: ['version'] },
};

let compiled: Record<string, ValidateFunction> | undefined;
function validators(): Record<string, ValidateFunction> {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: false });
    compiled = Object.fromEntries(Object.entries(SCHEMAS).map(([k, s]) => [k, ajv.compile(s)]));
  }
  return compiled;
}

export interface AdminReply { status: number; body: unknown }

/** Routes `GET|POST /admin/<op>`. Never throws. */
export async function handleAdmin(admin: Ec2SimAdmin, method: string, op: string, readBody: () => Promise<string>): Promise<AdminReply> {
  try {
    if (method === 'GET') {
      if (op === 'enis') return { status: 200, body: admin.listEnis() };
      if (op === 'stats') return { status: 200, body: admin.callStats() };
      if (op === 'snapshot') return { status: 200, body: admin.snapshot() };
      return { status: 404, body: { error: `unknown admin resource GET /admin/${op.slice(0, 60)}; try enis, stats, snapshot` } };
    }
    if (method !== 'POST') return { status: 405, body: { error: `method ${method} not allowed on /admin/${op.slice(0, 60)}` } };
    const raw = await readBody();
    let body: unknown = {};
    if (raw.trim()) {
      try { body = JSON.parse(raw); } catch { return { status: 400, body: { error: 'request body is not valid JSON' } }; }
    }
    const v = validators()[op];
    if (v && !v(body)) return { status: 400, body: { error: `invalid body for ${op}: ${v.errors?.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ')}` } };
    // Validated above by schema; the casts only name the shape.
    const b = body as Record<string, never>;
    switch (op) {
      case 'createVpc': return { status: 200, body: { vpcId: admin.createVpc(b.cidr) } };
      case 'createSubnet': return { status: 200, body: { subnetId: admin.createSubnet(body as Parameters<Ec2SimAdmin['createSubnet']>[0]) } };
      case 'runInstance': return { status: 200, body: admin.runInstance(body as Parameters<Ec2SimAdmin['runInstance']>[0]) };
      case 'terminateInstance': admin.terminateInstance(b.instanceId); return { status: 200, body: {} };
      case 'injectFault': admin.injectFault(b.action, b.fault); return { status: 200, body: {} };
      case 'clearFaults': admin.clearFaults(); return { status: 200, body: {} };
      case 'setThrottle': admin.setThrottle(b); return { status: 200, body: {} };
      case 'resetCallStats': admin.resetCallStats(); return { status: 200, body: {} };
      case 'restore': admin.restore(b); return { status: 200, body: {} };
      default: return { status: 404, body: { error: `unknown admin operation POST /admin/${op.slice(0, 60)}` } };
    }
  } catch (err) {
    if (err instanceof Ec2Error) return { status: err.status, body: { error: err.message, code: err.code } };
    return { status: 400, body: { error: err instanceof Error ? err.message : String(err) } };
  }
}
