import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openAiCompatibleSummariser } from './openAiCompatible.js';
import { type SummariseRequest, SummariserError, type TranscriptTurn } from './types.js';

interface Received {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: string;
}

const servers: Server[] = [];

afterEach(async () => {
  const closing = servers.splice(0).map(
    (server) =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // a request left hanging on purpose would otherwise keep close() waiting
        server.close(() => resolve());
      }),
  );
  await Promise.all(closing);
});

/** A real HTTP server on a free port that records each request and answers through `respond`. */
async function startServer(
  respond: (response: ServerResponse, received: Received) => void,
): Promise<{ baseUrl: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry = {
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(entry);
      respond(res, entry);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { baseUrl: `http://127.0.0.1:${port}/v1`, received };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const completion = (content: unknown) => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

function turn(
  id: string,
  role: TranscriptTurn['role'],
  text: string,
  extra: Partial<TranscriptTurn> = {},
): TranscriptTurn {
  return { id, role, text, tokens: 0, at: 0, ...extra };
}

const request: SummariseRequest = {
  sessionKey: 'agent:main:chat-1',
  sessionId: 'session-1',
  instructions: 'the release date',
  turns: [
    turn('cmp-1', 'summary', 'Ada leads the release.'),
    turn('m1', 'user', 'Ship on Friday?', { senderId: 'u-1', senderName: 'Ada' }),
    turn('r1', 'assistant', 'Friday works.'),
  ],
};

const live = () => new AbortController().signal;

async function failure(attempt: Promise<unknown>): Promise<SummariserError> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SummariserError);
  return error as SummariserError;
}

describe('openAiCompatibleSummariser', () => {
  it('given a chat completions server, when summarising, then it posts the model, prompt and turns and returns the trimmed content', async () => {
    const { baseUrl, received } = await startServer((res) =>
      json(res, 200, completion('  Ada ships on Friday.\n')),
    );
    const summariser = openAiCompatibleSummariser({
      url: `${baseUrl}/`,
      model: 'tiny-model',
      apiKey: 'sk-test-123',
      maxTokens: 256,
    });

    await expect(summariser.summarise(request, live())).resolves.toBe('Ada ships on Friday.');

    expect(received).toHaveLength(1);
    const [got] = received;
    expect(got?.method).toBe('POST');
    expect(got?.url).toBe('/v1/chat/completions');
    expect(got?.headers.authorization).toBe('Bearer sk-test-123');
    expect(got?.headers['content-type']).toBe('application/json');
    const body = JSON.parse(got?.body ?? '');
    expect(body).toMatchObject({ model: 'tiny-model', temperature: 0, max_tokens: 256 });
    expect(body.messages).toHaveLength(2);
    expect(body.messages[0].role).toBe('system');
    for (const asked of ['concise', 'facts', 'decisions', 'open questions', 'names', 'the release date'])
      expect(body.messages[0].content).toContain(asked);
    expect(body.messages[1]).toEqual({
      role: 'user',
      content:
        '[cmp-1] summary: Ada leads the release.\n[m1] Ada: Ship on Friday?\n[r1] assistant: Friday works.',
    });
  });

  it('given no api key, max tokens or instructions, when summarising, then none of them is sent', async () => {
    const { baseUrl, received } = await startServer((res) => json(res, 200, completion('ok')));
    const summariser = openAiCompatibleSummariser({ url: baseUrl, model: 'm' });
    await summariser.summarise({ ...request, instructions: undefined }, live());
    const [got] = received;
    expect(got?.url).toBe('/v1/chat/completions');
    expect(got?.headers.authorization).toBeUndefined();
    const body = JSON.parse(got?.body ?? '');
    expect(body).not.toHaveProperty('max_tokens');
    expect(body.messages[0].content).not.toContain('focus on');
  });

  it('given a fetch of its own, when summarising, then that fetch is used', async () => {
    const calls: string[] = [];
    const ownFetch: typeof fetch = async (input) => {
      calls.push(String(input));
      return new Response(JSON.stringify(completion('from own fetch')), { status: 200 });
    };
    const summariser = openAiCompatibleSummariser({
      url: 'http://summaries.invalid/v1',
      model: 'm',
      fetch: ownFetch,
    });
    await expect(summariser.summarise(request, live())).resolves.toBe('from own fetch');
    expect(calls).toEqual(['http://summaries.invalid/v1/chat/completions']);
  });

  it('given the server answers 500, when summarising, then it fails with HTTP_STATUS quoting the start of the body without the key', async () => {
    const { baseUrl } = await startServer((res, got) =>
      json(res, 500, `upstream broke for ${got.headers.authorization}; ${'x'.repeat(400)}`),
    );
    const summariser = openAiCompatibleSummariser({ url: baseUrl, model: 'm', apiKey: 'sk-secret-999' });
    const error = await failure(summariser.summarise(request, live()));
    expect(error.code).toBe('HTTP_STATUS');
    expect(error.message).toMatch(
      /^summariser returned HTTP 500: upstream broke for Bearer \[redacted\]; x+$/,
    );
    expect(error.message).not.toContain('sk-secret-999');
    expect(error.message.length).toBeLessThanOrEqual('summariser returned HTTP 500: '.length + 200);
  });

  it('given the server answers 200 with something that is not JSON, when summarising, then it fails with BAD_RESPONSE', async () => {
    const { baseUrl } = await startServer((res) => json(res, 200, '<html>gateway</html>'));
    const error = await failure(
      openAiCompatibleSummariser({ url: baseUrl, model: 'm' }).summarise(request, live()),
    );
    expect(error.code).toBe('BAD_RESPONSE');
    expect(error.message).toBe('summariser returned a response that is not JSON');
  });

  it('given the server answers JSON without summary text, when summarising, then it fails with BAD_RESPONSE', async () => {
    const bodies: unknown[] = [
      completion('   '),
      completion(null),
      { choices: [] },
      { error: 'nope' },
      [1, 2],
    ];
    let next = 0;
    const { baseUrl } = await startServer((res) => json(res, 200, bodies[next++]));
    const summariser = openAiCompatibleSummariser({ url: baseUrl, model: 'm' });
    for (const _ of bodies) {
      const error = await failure(summariser.summarise(request, live()));
      expect(error.code).toBe('BAD_RESPONSE');
      expect(error.message).toBe('summariser returned no summary text');
    }
  });

  it('given a server that never answers, when the signal times out, then it fails promptly with ABORTED', async () => {
    const { baseUrl, received } = await startServer(() => {
      // hold the request open: no answer, ever
    });
    const started = performance.now();
    const error = await failure(
      openAiCompatibleSummariser({ url: baseUrl, model: 'm' }).summarise(request, AbortSignal.timeout(100)),
    );
    expect(error.code).toBe('ABORTED');
    expect(error.message).toBe('summariser timed out or was cancelled');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(received).toHaveLength(1);
  });

  it('given a server that stalls mid-body, when the signal times out, then it fails with ABORTED', async () => {
    const { baseUrl } = await startServer((res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"choices": [');
    });
    const error = await failure(
      openAiCompatibleSummariser({ url: baseUrl, model: 'm' }).summarise(request, AbortSignal.timeout(100)),
    );
    expect(error.code).toBe('ABORTED');
  });

  it('given an already aborted signal, when summarising, then it fails with ABORTED without sending anything', async () => {
    const { baseUrl, received } = await startServer((res) => json(res, 200, completion('ok')));
    const controller = new AbortController();
    controller.abort();
    const error = await failure(
      openAiCompatibleSummariser({ url: baseUrl, model: 'm' }).summarise(request, controller.signal),
    );
    expect(error.code).toBe('ABORTED');
    expect(received).toEqual([]);
  });

  it('given nothing listens on the port, when summarising, then it fails with NETWORK', async () => {
    const { baseUrl } = await startServer((res) => json(res, 200, completion('ok')));
    const server = servers.pop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    const error = await failure(
      openAiCompatibleSummariser({ url: baseUrl, model: 'm', apiKey: 'sk-secret-999' }).summarise(
        request,
        live(),
      ),
    );
    expect(error.code).toBe('NETWORK');
    expect(error.message).toMatch(/^could not reach the summariser at 127\.0\.0\.1:\d+: ECONNREFUSED$/);
  });

  it('given a bad url, model or maxTokens, when creating it, then it throws a RangeError', () => {
    expect(() => openAiCompatibleSummariser({ url: 'not a url', model: 'm' })).toThrow(RangeError);
    expect(() => openAiCompatibleSummariser({ url: 'ftp://host/v1', model: 'm' })).toThrow(RangeError);
    expect(() => openAiCompatibleSummariser({ url: 'http://host/v1', model: ' ' })).toThrow(RangeError);
    expect(() => openAiCompatibleSummariser({ url: 'http://host/v1', model: 'm', maxTokens: 0 })).toThrow(
      RangeError,
    );
  });
});
