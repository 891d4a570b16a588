/**
 * The certificates the API server needs to call the webhook: a private CA, whose certificate
 * goes into the webhook configurations' caBundle, and a serving certificate for the webhook's
 * Service signed by it. Pure: the caller passes the clock and writes the PEM strings out.
 *
 * node:crypto cannot issue X.509 certificates; @peculiar/x509 builds them on WebCrypto (ours is
 * node:crypto's `webcrypto`). Its dependency injection (tsyringe) needs the Reflect metadata
 * polyfill, so both are loaded only when a certificate is issued, not by whoever imports this
 * module for the checks.
 */
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';

/** ECDSA P-256: what the API server (Go crypto/tls) and Node's TLS handle fastest, and small. */
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** Backdated like client-go's GenerateSelfSignedCertKey, so a clock behind ours still accepts them. */
const BACKDATE_MS = 3_600_000;
export const CA_VALIDITY_DAYS = 3650;
export const SERVING_VALIDITY_DAYS = 365;

/** A Service name (RFC 1035 label) or namespace name (RFC 1123 label). */
const DNS_1035_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export interface ServingCertificateRequest {
  readonly service: string;
  readonly namespace: string;
  readonly now: Date;
  /** Validity of the serving certificate; the CA's is CA_VALIDITY_DAYS (or longer, to cover it). */
  readonly days?: number;
}

export interface IssuedCertificates {
  readonly caCert: string;
  readonly cert: string;
  /** PKCS #8 PEM, which Node, Go and OpenSSL all read. */
  readonly key: string;
  readonly dnsNames: readonly string[];
  readonly caNotAfter: Date;
  readonly notAfter: Date;
}

/** What is wrong with a Service name and namespace, or undefined. */
export function serviceNameProblem(service: string, namespace: string): string | undefined {
  if (!DNS_1035_LABEL.test(service)) return `service name "${service}" is not a DNS label (a-z, 0-9 and -, starting with a letter, at most 63)`;
  if (!DNS_1123_LABEL.test(namespace)) return `namespace "${namespace}" is not a DNS label (a-z, 0-9 and -, at most 63)`;
  return undefined;
}

/** The names the API server may use for a Service: the one it dials is NAME.NS.svc. */
export function serviceDnsNames(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, `${service}.${namespace}.svc.cluster.local`];
}

/** A positive 128-bit serial whose DER encoding is 16 bytes long (RFC 5280 allows up to 20). */
function serial(crypto: webcrypto.Crypto): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

/** Issues a new CA and a serving certificate for SERVICE.NAMESPACE.svc; the CA's key is not kept. */
export async function issueServingCertificates(req: ServingCertificateRequest, crypto: webcrypto.Crypto = webcrypto): Promise<IssuedCertificates> {
  const problem = serviceNameProblem(req.service, req.namespace);
  if (problem !== undefined) throw new RangeError(problem);
  const days = req.days ?? SERVING_VALIDITY_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > CA_VALIDITY_DAYS) throw new RangeError(`validity must be 1 to ${CA_VALIDITY_DAYS} days, not ${days}`);

  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const notBefore = new Date(req.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(req.now.getTime() + days * DAY_MS);
  const caNotAfter = new Date(req.now.getTime() + CA_VALIDITY_DAYS * DAY_MS);
  const dnsNames = serviceDnsNames(req.service, req.namespace);

  const caKeys = await crypto.subtle.generateKey(ALGORITHM, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serial(crypto),
      name: `CN=Portcullis admission CA, O=Portcullis`,
      notBefore,
      notAfter: caNotAfter,
      keys: caKeys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        // pathLength 0: it signs the serving certificate and nothing below that.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  // A common name is at most 64 characters (RFC 5280); without one the subject is empty and the
  // SANs, which are all that TLS clients read anyway, must be marked critical.
  const cn = dnsNames[2]!;
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial(crypto),
      subject: cn.length <= 64 ? `CN=${cn}` : '',
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        // ECDSA keys sign the handshake; keyEncipherment is for RSA key transport only.
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(dnsNames.map((value) => ({ type: 'dns' as const, value })), cn.length > 64),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return {
    caCert: `${ca.toString('pem')}\n`,
    cert: `${cert.toString('pem')}\n`,
    key: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n`,
    dnsNames,
    caNotAfter,
    notAfter,
  };
}

/** The certificates of a PEM bundle (a caBundle may hold several CAs, e.g. during a rotation). */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

/** What is wrong with a caBundle: not PEM certificates, or one that is not a CA. */
export function caBundleProblems(pem: string, now: Date): string[] {
  let certs: X509Certificate[];
  try {
    certs = parseCertificates(pem);
  } catch (err) {
    return [`it holds a PEM certificate that does not parse: ${(err as Error).message}`];
  }
  if (certs.length === 0) return ['it holds no PEM certificate (-----BEGIN CERTIFICATE-----)'];
  const problems: string[] = [];
  for (const c of certs) {
    if (!c.ca) problems.push(`${c.subject.replace(/\n/g, ', ')} is not a CA certificate`);
    else if (new Date(c.validTo) <= now) problems.push(`the CA ${c.subject.replace(/\n/g, ', ')} expired on ${new Date(c.validTo).toISOString()}`);
  }
  return problems;
}

export interface ServingPair {
  /** Absent: whether a CA issued the certificate is not checked. */
  readonly caBundle?: string;
  readonly cert: string;
  readonly key: string;
  /** The name the API server dials: SERVICE.NAMESPACE.svc. */
  readonly dnsName: string;
  readonly now: Date;
}

/**
 * What would make the API server's TLS handshake with the webhook fail: a certificate no CA of
 * the bundle issued, one for another Service name, one expired or not yet valid, or a key that
 * is not its key. An empty list: none of these.
 */
export function servingPairProblems(p: ServingPair): string[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(p.cert);
  } catch (err) {
    return [`tls.crt is not a PEM certificate: ${(err as Error).message}`];
  }
  const problems: string[] = [];
  try {
    if (!cert.checkPrivateKey(createPrivateKey(p.key))) problems.push('tls.key is not the key of tls.crt');
  } catch (err) {
    problems.push(`tls.key is not a PEM private key: ${(err as Error).message}`);
  }
  // Go's crypto/tls (the API server's) reads only the SANs, never the subject's CN.
  if (cert.checkHost(p.dnsName, { subject: 'never' }) === undefined) problems.push(`tls.crt is not for ${p.dnsName} (its names: ${cert.subjectAltName ?? 'none'})`);
  if (new Date(cert.validTo) <= p.now) problems.push(`tls.crt expired on ${new Date(cert.validTo).toISOString()}`);
  if (new Date(cert.validFrom) > p.now) problems.push(`tls.crt is valid only from ${new Date(cert.validFrom).toISOString()}`);
  if (p.caBundle === undefined) return problems;
  let cas: X509Certificate[] = [];
  try {
    cas = parseCertificates(p.caBundle);
  } catch {
    // caBundleProblems says so.
  }
  if (!cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) problems.push('tls.crt is not signed by a CA of the caBundle');
  return problems;
}
