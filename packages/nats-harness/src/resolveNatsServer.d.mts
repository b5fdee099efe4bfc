export interface ResolvedNatsServer {
  readonly path: string;
  readonly version: string;
  readonly source: 'env' | 'path' | 'cache' | 'download';
}
export interface ResolveOptions {
  readonly cacheDir?: string;
  readonly log?: (line: string) => void;
}
export declare const MIN_SERVER_VERSION: string;
export declare const CURRENT_SUITE: string;
export declare const LEGACY_SUITE: string;
export declare function findRepoRoot(start?: string): string;
export declare function defaultCacheDir(): string;
export declare function parseVersion(text: string): [number, number, number] | undefined;
export declare function compareVersions(a: string, b: string): -1 | 0 | 1;
export declare function binaryVersion(bin: string): Promise<string | undefined>;
export declare function systemDebianArchive(): { uri: string; signedBy: string } | undefined;
export declare function fetchDebianNatsServer(options: ResolveOptions & { suite: string }): Promise<string>;
export declare function resolveNatsServer(options?: ResolveOptions): Promise<ResolvedNatsServer>;
export declare function resolveLegacyNatsServer(options?: ResolveOptions): Promise<ResolvedNatsServer>;
