// Test certificates for NATS over TLS on one machine: a throwaway CA and a server certificate it signed
// for 127.0.0.1 and localhost (or the hosts given). For local use and tests only — the CA's private key
// is never written, so nothing else can ever be signed with it. `node scripts/test-certs.mjs <dir>`
// writes <dir>/ca.pem (give it to clients: THREADLINE_NATS_TLS_CA), <dir>/server-cert.pem and
// <dir>/server-key.pem (mode 0600; nats-server's `tls { cert_file, key_file }`).
//
// Plain JavaScript with only node: imports — no openssl binary, no npm package: Node's crypto makes the
// keys (ECDSA P-256) and signs, and the few X.509 structures are DER-encoded here. Node's own
// X509Certificate checks the result (the tests, and `verifyTestCertificates`).
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';

// ───────────────────────────── DER ─────────────────────────────

function length(n) {
  if (n < 0x80) return Buffer.from([n]);
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag, content) => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...items) => tlv(0x30, Buffer.concat(items));
const set = (...items) => tlv(0x31, Buffer.concat(items));
/** A non-negative INTEGER from big-endian bytes: minimal, with a 0 byte if the high bit is set. */
function integer(bytes) {
  let b = Buffer.from(bytes);
  while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}
function objectId(dotted) {
  const [first, second, ...rest] = dotted.split('.').map(Number);
  const out = [40 * first + second];
  for (const part of rest) {
    const stack = [part & 0x7f];
    for (let v = part >>> 7; v > 0; v >>>= 7) stack.unshift((v & 0x7f) | 0x80);
    out.push(...stack);
  }
  return tlv(0x06, Buffer.from(out));
}
const utf8 = (text) => tlv(0x0c, Buffer.from(text, 'utf8'));
const octets = (bytes) => tlv(0x04, bytes);
const bits = (bytes, unused = 0) => tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]));
const boolean = (value) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
const explicit = (n, content) => tlv(0xa0 + n, content);
/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 §4.1.2.5). */
function time(date) {
  const iso = date.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const name = (commonName) =>
  sequence(
    set(sequence(objectId(OID.organization), utf8('Threadline (test only)'))),
    set(sequence(objectId(OID.commonName), utf8(commonName))),
  );
const extension = (oid, critical, value) =>
  sequence(objectId(oid), ...(critical ? [boolean(true)] : []), octets(value));

function certificate({ subject, issuer, publicKey, signingKey, notBefore, notAfter, extensions }) {
  const tbs = sequence(
    explicit(0, integer([2])), // v3
    integer(Buffer.concat([Buffer.from([0x40]), randomBytes(15)])), // positive, 16 bytes
    sequence(objectId(OID.ecdsaWithSha256)),
    issuer,
    sequence(time(notBefore), time(notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, signingKey); // ECDSA: DER-encoded (r, s), as X.509 wants it
  return sequence(tbs, sequence(objectId(OID.ecdsaWithSha256)), bits(signature));
}

const keyId = (publicKey) =>
  createHash('sha1')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
const pem = (label, der) =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)
    .join('\n')}\n-----END ${label}-----\n`;

// ───────────────────────────── certificates ─────────────────────────────

/**
 * Makes a CA and a server certificate for `hosts` (IP addresses and DNS names; default 127.0.0.1 and
 * localhost), valid from an hour ago for `days` days (default 30), and writes `ca.pem`,
 * `server-cert.pem` and `server-key.pem` (0600) into `dir`. Returns the three paths.
 */
export async function createTestCertificates(options) {
  const dir = resolve(options.dir);
  const hosts = options.hosts?.length ? options.hosts : ['127.0.0.1', 'localhost'];
  const days = options.days ?? 30;
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(Date.now() + days * 86_400_000);
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const server = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = name('Threadline test CA');
  const caDer = certificate({
    subject: caName,
    issuer: caName,
    publicKey: ca.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true))),
      // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000011 → 0x06, one unused bit
      extension(OID.keyUsage, true, bits(Buffer.from([0x06]), 1)),
      extension(OID.subjectKeyId, false, octets(keyId(ca.publicKey))),
    ],
  });
  const altNames = hosts.map((host) => {
    const family = isIP(host);
    if (family === 4) return tlv(0x87, Buffer.from(host.split('.').map(Number)));
    if (family === 6) throw new RangeError(`IPv6 hosts are not supported here: ${host}`);
    return tlv(0x82, Buffer.from(host, 'ascii'));
  });
  const serverDer = certificate({
    subject: name(hosts[0]),
    issuer: caName,
    publicKey: server.publicKey,
    signingKey: ca.privateKey,
    notBefore,
    notAfter,
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      // digitalSignature (bit 0): 0x80, seven unused bits
      extension(OID.keyUsage, true, bits(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, false, sequence(objectId(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...altNames)),
      extension(OID.authorityKeyId, false, sequence(tlv(0x80, keyId(ca.publicKey)))),
    ],
  });
  await mkdir(dir, { recursive: true });
  const files = {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server-cert.pem'),
    keyFile: join(dir, 'server-key.pem'),
  };
  await writeFile(files.caFile, pem('CERTIFICATE', caDer));
  await writeFile(files.certFile, pem('CERTIFICATE', serverDer));
  await writeFile(files.keyFile, server.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  verifyTestCertificates(pem('CERTIFICATE', caDer), pem('CERTIFICATE', serverDer), hosts);
  return files;
}

/** Throws unless `certPem` is signed by `caPem`, the CA is a CA, and the certificate names every host. */
export function verifyTestCertificates(caPem, certPem, hosts) {
  const ca = new X509Certificate(caPem);
  const cert = new X509Certificate(certPem);
  if (!ca.ca) throw new Error('the test CA is not marked as a CA');
  if (!cert.verify(ca.publicKey)) throw new Error('the server certificate is not signed by the test CA');
  if (!cert.checkIssued(ca)) throw new Error('the server certificate does not name the test CA as issuer');
  for (const host of hosts) {
    const ok = isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
    if (!ok) throw new Error(`the server certificate does not name ${host}`);
  }
}

/** The nats-server `tls` block for the files `createTestCertificates` wrote. */
export function natsTlsBlock(files) {
  return `tls {\n  cert_file: ${JSON.stringify(files.certFile)}\n  key_file: ${JSON.stringify(files.keyFile)}\n}\n`;
}
