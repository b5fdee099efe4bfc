/**
 * One request to the ops service (`tl.ops.v1.*`, a service of the NATS services framework) and what its
 * answer means: a JSON document; or an error, which the framework puts in headers
 * (`Nats-Service-Error-Code`, `Nats-Service-Error`) and the ops service details in the payload
 * (`{ error: { code, message, hint?, field? } }`); or nobody there to answer.
 */
import { type NatsConnection, NoRespondersError, RequestError, TimeoutError } from '@nats-io/transport-node';
import { ClientErrorCodes, OpsError, type OpsServiceError } from './errors.js';
import { hasCause } from './publish.js';

export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';

/** The JSON answer to `request` on `subject`; throws {@link OpsError}. */
export async function opsRequest<T>(
  nc: NatsConnection,
  subject: string,
  request: Record<string, unknown>,
  timeoutMs: number,
): Promise<T> {
  let reply: Awaited<ReturnType<NatsConnection['request']>>;
  try {
    reply = await nc.request(subject, JSON.stringify(request), { timeout: timeoutMs });
  } catch (error) {
    if (
      hasCause(
        error,
        (e) => e instanceof NoRespondersError || (e instanceof RequestError && e.isNoResponders()),
      )
    )
      throw new OpsError(
        ClientErrorCodes.OpsUnavailable,
        `no ops service answers on ${subject}: is one running (services/ops; npm start runs one)?`,
        subject,
        true,
        undefined,
        { cause: error },
      );
    if (hasCause(error, (e) => e instanceof TimeoutError))
      throw new OpsError(
        ClientErrorCodes.OpsTimeout,
        `the ops service did not answer on ${subject} within ${timeoutMs} ms`,
        subject,
        true,
        undefined,
        { cause: error },
      );
    throw new OpsError(
      ClientErrorCodes.OpsFailed,
      `request on ${subject} failed: ${error instanceof Error ? error.message : String(error)}`,
      subject,
      false,
      undefined,
      { cause: error },
    );
  }

  const status = reply.headers?.get(SERVICE_ERROR_CODE_HEADER);
  if (status) {
    const service = serviceErrorOf(
      Number(status),
      reply.headers?.get(SERVICE_ERROR_HEADER) ?? '',
      reply.data,
    );
    throw new OpsError(
      ClientErrorCodes.OpsFailed,
      `the ops service answered ${subject} with ${service.status}${service.code ? ` ${service.code}` : ''}: ${service.message}${service.hint ? ` (${service.hint})` : ''}`,
      subject,
      // A failure inside the service may pass; a bad request, an unknown key or a too large answer will not.
      !(service.status >= 400 && service.status < 500),
      service,
    );
  }
  let value: unknown;
  try {
    value = reply.json<unknown>();
  } catch (error) {
    throw badReply(subject, `not JSON: ${(error as Error).message}`, error);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badReply(subject, 'not a JSON object');
  return value as T;
}

function badReply(subject: string, why: string, cause?: unknown): OpsError {
  return new OpsError(
    ClientErrorCodes.OpsBadReply,
    `the answer on ${subject} is not the expected document: ${why}`,
    subject,
    false,
    undefined,
    cause === undefined ? undefined : { cause },
  );
}

/** The header's status and description, with the payload's details when it holds them. */
function serviceErrorOf(status: number, description: string, data: Uint8Array): OpsServiceError {
  const out: OpsServiceError = { status, message: description || 'no description' };
  try {
    const detail = (JSON.parse(new TextDecoder().decode(data)) as { error?: Record<string, unknown> }).error;
    if (detail && typeof detail === 'object') {
      if (typeof detail.code === 'string') out.code = detail.code;
      if (typeof detail.message === 'string' && detail.message !== '') out.message = detail.message;
      if (typeof detail.hint === 'string') out.hint = detail.hint;
      if (typeof detail.field === 'string') out.field = detail.field;
    }
  } catch {
    // No details: the header's description is all there is.
  }
  return out;
}
