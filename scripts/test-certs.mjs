#!/usr/bin/env node
// Test certificates for NATS over TLS on this machine: a throwaway CA and a server certificate for
// 127.0.0.1 and localhost (or the hosts given). For local use and tests only; no openssl needed.
//
//   node scripts/test-certs.mjs .threadline/tls [host ...]
//
// Then add the printed `tls { … }` block to the nats-server config (infra/nats/*.conf have it commented)
// and give every client the CA: THREADLINE_NATS_TLS_CA=.threadline/tls/ca.pem (infra/nats/README.md).
import { createTestCertificates, natsTlsBlock } from '../packages/nats-harness/src/testCertificates.mjs';

const [dir, ...hosts] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node scripts/test-certs.mjs <dir> [host ...]   (default hosts: 127.0.0.1 localhost)');
  process.exit(2);
}
const files = await createTestCertificates({ dir, hosts });
console.log(`Test certificates (local use only; the CA's key was never written) in ${dir}:`);
console.log(`  CA, for clients:    ${files.caFile}   (THREADLINE_NATS_TLS_CA)`);
console.log(`  server certificate: ${files.certFile}`);
console.log(`  server key (0600):  ${files.keyFile}`);
console.log('\nFor the nats-server config:\n');
console.log(natsTlsBlock(files));
