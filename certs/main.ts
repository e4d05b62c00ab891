// `eni-ipam certs --out DIR --dns NAME... [--ip IP...] [--days N] [--ca-days N]`: mints a self-signed CA
// and a serving certificate for the webhook/extender, writes ca.crt, ca.key, tls.crt, tls.key, and
// prints the base64 caBundle for the MutatingWebhookConfiguration.
import { parseArgs } from 'node:util';
import { caBundle, makeCA, makeServingCert, writeCertFiles } from '../lib/certs.ts';

const USAGE = 'usage: eni-ipam certs --out DIR --dns NAME [--dns NAME...] [--ip IP...] [--days N] [--ca-days N] [--cn CA_NAME]';

function positiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        dns: { type: 'string', multiple: true },
        ip: { type: 'string', multiple: true },
        days: { type: 'string' },
        'ca-days': { type: 'string' },
        cn: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`eni-ipam certs: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  if (!values.out || !values.dns?.length) { console.error(`eni-ipam certs: --out and at least one --dns are required\n${USAGE}`); return 2; }
  try {
    const days = positiveInt('days', values.days, 365);
    const caDays = positiveInt('ca-days', values['ca-days'], 3650);
    const ca = makeCA({ commonName: values.cn ?? 'eni-ipam-ca', days: caDays });
    const serving = makeServingCert(ca, { dnsNames: values.dns, ipAddresses: values.ip ?? ['127.0.0.1'], days });
    const files = await writeCertFiles(values.out, { ca, serving, includeCAKey: true });
    console.error(`wrote ${Object.values(files).join(', ')}`);
    // stdout carries only the caBundle so it can be captured: CA_BUNDLE=$(eni-ipam certs ...)
    console.log(caBundle(ca));
    return 0;
  } catch (err) {
    console.error(`eni-ipam certs: ${(err as Error).message}`);
    return 1;
  }
}
