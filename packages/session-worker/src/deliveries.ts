/**
 * The delivery gate's last step (ADR 0011 steps 3–4, ADR 0012): what a recorded transition sends to the
 * chat. Each agent reply and command answer of a transition becomes a {@link RecordedDelivery} — the
 * `delivery.v1` body plus the send policy's verdict — stored IN the transition record, so that what was
 * sent, or held back and why, is part of the session's history, and a worker that crashes after the
 * append publishes exactly the same messages again.
 *
 * Pure: the answer texts come from a renderer the host passes in (it may have read the agent's workspace
 * for `/context` before), the verdicts from the snapshot.
 */
import type { DeliveryV1 } from '@threadline/protocol';
import type {
  CommandAnswer,
  DeliveryVerdict,
  MessageRoute,
  SessionSnapshot,
  ThreadlineConfig,
} from '@threadline/session-core';
import { deliveryVerdict } from './inputs.js';
import type { TransitionRecordV1 } from './records.js';

/** One reply or answer of a transition, as recorded: published when `status` is `allowed`. */
export interface RecordedDelivery {
  /**
   * `allowed`: published on `tl.out.v1.<channel>.<peer>`. `blocked`: the send policy denied it (spec §3).
   * `no-route`: the session has never received a message, so there is no conversation to send to.
   * `suppressed`: the agent marked the turn `noDelivery` (tool traffic, internal turns).
   */
  status: 'allowed' | 'blocked' | 'no-route' | 'suppressed';
  verdict: DeliveryVerdict;
  /** The delivery body; `route` is absent for `no-route`. */
  delivery: Omit<DeliveryV1, 'route'> & { route?: DeliveryV1['route'] };
}

/** Renders one command answer as the text the chat receives. */
export type AnswerRenderer = (answer: CommandAnswer) => string;

const UNGATED: DeliveryVerdict = { decision: 'allow', source: 'unconfigured' };

/**
 * The deliveries of one transition of `sessionKey`, in order: the agent reply (if the input is one), then
 * each command answer. `after` is the snapshot the transition produced: answers are gated by the policy
 * in force once the command has been applied (so `/send off` is itself held back — the owner asked for
 * silence), and sent along the session's latest route.
 */
export function deliveriesOf(
  sessionKey: string,
  body: TransitionRecordV1,
  after: SessionSnapshot,
  config: ThreadlineConfig,
  render: AnswerRenderer,
): RecordedDelivery[] {
  const route = routeOf(after.context.lastRoute ?? after.context.origin);
  const out: RecordedDelivery[] = [];
  const push = (
    verdict: DeliveryVerdict,
    suppressed: boolean,
    fields: Omit<DeliveryV1, 'v' | 'type' | 'id' | 'sessionKey' | 'route' | 'at'>,
  ) => {
    const status = suppressed
      ? 'suppressed'
      : route === undefined
        ? 'no-route'
        : verdict.decision === 'deny'
          ? 'blocked'
          : 'allowed';
    const delivery = {
      v: 1 as const,
      type: 'delivery' as const,
      id: `${body.inputId}:${out.length}`,
      sessionKey,
      ...fields,
      at: body.input.at,
      ...(route === undefined ? {} : { route }),
    };
    out.push({ status, verdict, delivery });
  };

  const input = body.input;
  if (input.type === 'reply.outbound') {
    push(input.delivery ?? UNGATED, input.noDelivery === true, {
      kind: 'reply',
      ...sessionIdOf(after),
      replyId: input.replyId,
      ...(input.inReplyTo === undefined ? {} : { inReplyTo: input.inReplyTo }),
      text: input.text,
    });
  }
  if (body.answers.length > 0) {
    const verdict = deliveryVerdict(sessionKey, after, config);
    for (const { answer, inReplyTo, sessionId } of body.answers) {
      push(verdict, false, {
        kind: 'answer',
        ...(sessionId === null ? {} : { sessionId }),
        ...(inReplyTo === null ? {} : { inReplyTo }),
        command: answer.kind,
        text: render(answer),
      });
    }
  }
  return out;
}

/** The deliveries of a record that go out: the allowed ones, as complete `delivery.v1` bodies. */
export function publishable(deliveries: readonly RecordedDelivery[] | undefined): DeliveryV1[] {
  return (deliveries ?? []).flatMap((d) =>
    d.status === 'allowed' && d.delivery.route !== undefined ? [d.delivery as DeliveryV1] : [],
  );
}

function sessionIdOf(snapshot: SessionSnapshot): { sessionId?: string } {
  const id = snapshot.context.sessionId;
  return id === null ? {} : { sessionId: id };
}

function routeOf(route: MessageRoute | null): DeliveryV1['route'] | undefined {
  if (route === null) return undefined;
  const chatType = route.chatType === 'group' || route.chatType === 'channel' ? route.chatType : 'direct';
  return {
    channel: route.channel,
    to: route.to,
    chatType,
    ...(route.accountId === undefined ? {} : { accountId: route.accountId }),
    ...(route.threadId === undefined ? {} : { threadId: route.threadId }),
  };
}
