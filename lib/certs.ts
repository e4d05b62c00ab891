// Self-signed CA + serving certificates for the webhook/extender HTTPS servers and for tests.
// Keys come from node:crypto (native, ~tens of ms) because node-forge's pure-JS RSA keygen takes
// seconds for 2048 bits on a slow machine; forge only builds and signs the X.509 structures.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

export interface CertPair { certPem: string; keyPem: string }

export interface CAOptions {
  commonName: string;
  /** Validity in days (default 3650). */
  days?: number;
  /** Start of validity in ms since epoch (default: 1 hour before now, to absorb clock skew). */
  notBefore?: number;
}

export interface ServingCertOptions {
  /** DNS SANs; the first one is also the subject CN. At least one DNS name or IP is required. */
  dnsNames: string[];
  /** IP SANs (default ["127.0.0.1"]). */
  ipAddresses?: string[];
  /** Validity in days (default 365). */
  days?: number;
  notBefore?: number;
}

const DAY_MS = 86_400_000;

function newKeyPair(bits: number): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const priv = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  const pub = forge.pki.setRsaPublicKey(priv.n, priv.e);
  return { privateKey: priv, publicKey: pub, keyPem: privateKey };
}

function serialNumber(): string {
  // Positive 128-bit serial: clear the top bit so the DER INTEGER is not read as negative.
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, notBefore: number | undefined, days: number): void {
  if (!(days > 0)) throw new Error(`certificate validity must be > 0 days, got ${days}`);
  // Callers that do not pass notBefore get wall time; certificates are checked by TLS stacks
  // against the real clock, not the simulated one, so the injected Clock does not apply here.
  const start = notBefore ?? wallClockMs() - 3_600_000;
  cert.validity.notBefore = new Date(start);
  cert.validity.notAfter = new Date(start + days * DAY_MS);
}

// Real wall time on purpose (see validity()); a ScaledClock running ahead would mint certificates
// that real TLS peers consider not yet valid.
function wallClockMs(): number { return Math.floor(performance.timeOrigin + performance.now()); }

/** A self-signed CA certificate (2048-bit RSA, SHA-256, basicConstraints CA:true, keyCertSign). */
export function makeCA(opts: CAOptions): CertPair {
  const { privateKey, publicKey, keyPem } = newKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, opts.notBefore, opts.days ?? 3650);
  const subject = [{ name: 'commonName', value: opts.commonName }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** A serving (TLS server) certificate signed by `ca`, with DNS + IP SANs and the serverAuth EKU. */
export function makeServingCert(ca: CertPair, opts: ServingCertOptions): CertPair {
  const ips = opts.ipAddresses ?? ['127.0.0.1'];
  if (opts.dnsNames.length === 0 && ips.length === 0) throw new Error('serving certificate needs at least one DNS name or IP address');
  for (const ip of ips) if (!isIP(ip)) throw new Error(`"${ip}" is not an IP address`);
  for (const d of opts.dnsNames) if (!/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(d)) {
    throw new Error(`"${d}" is not a valid DNS name`);
  }
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { publicKey, keyPem } = newKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, opts.notBefore, opts.days ?? 365);
  cert.setSubject([{ name: 'commonName', value: opts.dnsNames[0] ?? ips[0]! }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...opts.dnsNames.map((value) => ({ type: 2, value })),
        ...ips.map((ip) => ({ type: 7, ip })),
      ],
    },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}

/** base64 of the CA PEM: the value of a webhook's `clientConfig.caBundle`. */
export function caBundle(ca: Pick<CertPair, 'certPem'>): string {
  return Buffer.from(ca.certPem, 'utf8').toString('base64');
}

export interface CertFiles { ca: CertPair; serving: CertPair; includeCAKey?: boolean }

/**
 * Writes ca.crt, tls.crt, tls.key (and ca.key when includeCAKey) into dir, creating it.
 * Private keys are written 0600. Returns the paths written.
 */
export async function writeCertFiles(dir: string, files: CertFiles): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const out: Record<string, string> = {
    'ca.crt': join(dir, 'ca.crt'),
    'tls.crt': join(dir, 'tls.crt'),
    'tls.key': join(dir, 'tls.key'),
  };
  await writeFile(out['ca.crt']!, files.ca.certPem, { mode: 0o644 });
  await writeFile(out['tls.crt']!, files.serving.certPem, { mode: 0o644 });
  await writeFile(out['tls.key']!, files.serving.keyPem, { mode: 0o600 });
  if (files.includeCAKey) {
    out['ca.key'] = join(dir, 'ca.key');
    await writeFile(out['ca.key'], files.ca.keyPem, { mode: 0o600 });
  }
  return out;
}

/** A client certificate (extKeyUsage clientAuth) for mutual TLS, e.g. kube-scheduler → extender. */
export function makeClientCert(ca: CertPair, opts: { commonName: string; days?: number; notBefore?: number }): CertPair {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const { publicKey, keyPem } = newKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  validity(cert, opts.notBefore, opts.days ?? 365);
  cert.setSubject([{ name: 'commonName', value: opts.commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem };
}
