/**
 * Reading streams and buckets that may not exist yet (nothing started): an absent one is `undefined`,
 * never an error, so a status of a fresh server still answers.
 */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { readBucket } from '@threadline/projector';
import { OpsError, OpsErrorCodes } from './errors.js';

/** True for the server's "stream not found" answer: a stream or bucket nobody has created yet. */
export function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

/** The JetStream manager, or an {@link OpsError} (`FAILED`) when the server runs without JetStream. */
export async function manager(nc: NatsConnection): Promise<JetStreamManager> {
  try {
    return await jetstreamManager(nc);
  } catch (error) {
    if (nc.info?.jetstream === true) throw error;
    throw new OpsError(
      OpsErrorCodes.Failed,
      `JetStream is not enabled on the NATS server at ${nc.getServer()}: ${(error as Error).message}`,
      {
        hint: 'Threadline keeps everything in JetStream: start nats-server with -js (npm start does)',
        cause: error,
      },
    );
  }
}

/** A stream's info, or undefined when the stream does not exist. */
export async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (error) {
    if (isStreamNotFound(error)) return undefined;
    throw error;
  }
}

/** Every current value of a KV bucket by entry name, or undefined when the bucket does not exist. */
export async function readBucketIfPresent<T>(
  nc: NatsConnection,
  bucket: string,
): Promise<Map<string, T> | undefined> {
  try {
    return await readBucket<T>(nc, bucket);
  } catch (error) {
    if (isStreamNotFound(error)) return undefined;
    throw error;
  }
}
