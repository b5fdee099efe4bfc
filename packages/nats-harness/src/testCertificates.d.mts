export interface TestCertificateFiles {
  /** The CA certificate (PEM): what clients trust (`THREADLINE_NATS_TLS_CA`). */
  readonly caFile: string;
  /** The server certificate (PEM), signed by the CA: nats-server's `tls { cert_file }`. */
  readonly certFile: string;
  /** The server's private key (PKCS #8 PEM, mode 0600): nats-server's `tls { key_file }`. */
  readonly keyFile: string;
}
export interface TestCertificateOptions {
  readonly dir: string;
  /** IPv4 addresses and DNS names the server certificate names; default 127.0.0.1 and localhost. */
  readonly hosts?: readonly string[];
  /** Days of validity from now (default 30). */
  readonly days?: number;
}
export declare function createTestCertificates(
  options: TestCertificateOptions,
): Promise<TestCertificateFiles>;
export declare function verifyTestCertificates(
  caPem: string,
  certPem: string,
  hosts: readonly string[],
): void;
export declare function natsTlsBlock(files: TestCertificateFiles): string;
