/**
 * What the services' integration tests share (not part of the build): polling with a deadline and a
 * plain HTTP GET for the ops endpoints.
 */
import { request } from 'node:http';

/** Waits until `predicate` holds, checking every 20 ms (after `refresh`, if given); throws after `timeoutMs`. */
export async function until(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  refresh: () => Promise<void> = async () => {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await refresh();
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not reached in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await refresh();
  }
}

/** GET `url` on a fresh connection; resolves with the status and the body as text. */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * The metrics pages of two replicas of a leader-elected service once exactly one of them shows
 * `leaderMetric` at 1: the leader's page first.
 */
export async function leaderAndStandbyPages(
  leaderMetric: string,
  ports: readonly [number | undefined, number | undefined],
): Promise<[string, string]> {
  let pages: [string, string] = ['', ''];
  const leads = (page: string) => page.includes(`${leaderMetric} 1\n`);
  await until(
    () => leads(pages[0]) !== leads(pages[1]),
    20_000,
    async () => {
      pages = [
        (await httpGet(`http://127.0.0.1:${ports[0]}/metrics`)).body,
        (await httpGet(`http://127.0.0.1:${ports[1]}/metrics`)).body,
      ];
    },
  );
  return leads(pages[0]) ? pages : [pages[1], pages[0]];
}
