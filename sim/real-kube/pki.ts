// Certificates for a local control plane, made with the openssl CLI: one CA, the apiserver's serving
// certificate (IP SAN 127.0.0.1), client certificates whose CN/O are the Kubernetes user and groups,
// and the service-account signing key. ECDSA P-256 keys: quick to make, accepted everywhere.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  saKey: string;
  saPub: string;
  /** Serving certificate for 127.0.0.1/localhost: [cert, key] paths. */
  serving(name: string): { cert: string; key: string };
  /** Client certificate for user `cn` in `groups`: [cert, key] paths. */
  client(name: string, cn: string, groups?: string[]): { cert: string; key: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makePki(dir: string): Pki {
  mkdirSync(dir, { recursive: true });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-days', '3', '-subj', '/CN=eni-ipam-e2e-ca', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'sa.key'], dir);
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  const sign = (name: string, subj: string, ext: string) => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', ...ec, '-subj', subj, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '3', '-out', `${name}.crt`, '-extfile', `${name}.ext`], dir);
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  return {
    dir, caCert: join(dir, 'ca.crt'), caKey: join(dir, 'ca.key'), saKey: join(dir, 'sa.key'), saPub: join(dir, 'sa.pub'),
    serving: (name) => sign(name, `/CN=${name}`, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n'),
    client: (name, cn, groups = []) => sign(name, `${groups.map((g) => `/O=${g}`).join('')}/CN=${cn}`, 'extendedKeyUsage=clientAuth\n'),
  };
}
