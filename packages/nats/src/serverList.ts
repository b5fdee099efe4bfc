/**
 * The servers of a NATS URL list — `nats://10.0.0.1:4222,nats://10.0.0.2:4222` — each trimmed, empty
 * entries dropped (a trailing comma is harmless). Every component takes its server this way
 * (`THREADLINE_NATS_URL`, the CLI's `--server`): the NATS client takes the list and fails over between
 * them, but it does not split a comma-separated string itself.
 */
export function natsServerList(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}
