// `eni-ipam certs --out DIR --dns NAME... [--ip IP...] [--days N] [--ca-days N]`: mints a self-signed CA
// and a serving certificate for the webhook/extender, writes ca.crt, ca.key, tls.crt, tls.key, and
// prints the base64 caBundle for the MutatingWebhookConfiguration.
import { caBundle, makeCA, makeServingCert, writeCertFiles } from '../lib/certs.ts';
import { parseCommandLine, type CommandSpec } from '../lib/flags.ts';

export const SPEC = {
  command: 'certs',
  summary: 'Make a CA and a serving certificate (ca.crt, ca.key, tls.crt, tls.key); print the base64 caBundle.',
  envPrefix: 'ENI_IPAM_CERTS_',
  flags: {
    out: { kind: 'string', metavar: 'DIR', required: true, help: 'directory for the PEM files' },
    dns: { kind: 'list', metavar: 'NAME', required: true, help: 'DNS names of the serving certificate (repeat or comma-separate)' },
    ip: { kind: 'list', metavar: 'IP', default: ['127.0.0.1'], help: 'IP addresses of the serving certificate' },
    days: { kind: 'int', min: 1, default: 365, help: 'validity of the serving certificate' },
    'ca-days': { kind: 'int', min: 1, default: 3650, help: 'validity of the CA' },
    cn: { kind: 'string', metavar: 'NAME', default: 'eni-ipam-ca', help: 'common name of the CA' },
  },
} as const satisfies CommandSpec;

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(SPEC, argv, process.env);
  if (typeof parsed === 'number') return parsed;
  const values = parsed.values;
  try {
    const ca = makeCA({ commonName: values.cn, days: values['ca-days'] });
    const serving = makeServingCert(ca, { dnsNames: values.dns, ipAddresses: values.ip, days: values.days });
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
