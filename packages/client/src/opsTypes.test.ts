/**
 * The client declares the ops service's answers as wire shapes (opsTypes.ts) instead of importing the
 * service's types, so that a publisher does not install the worker and the projector to read them.
 * These assertions are checked by `tsc` (the package's typecheck): each document the ops service's own
 * types describe must fit the client's declaration, and the declaration must ask for nothing the
 * service does not send — so a change to either side fails the typecheck until both agree.
 */
import type { ReplayPageV1, SessionListV1, SessionShowV1, StatusV1 } from '@threadline/ops';
import { describe, expectTypeOf, it } from 'vitest';
import type { ReplayPage, SessionList, SessionView, SystemStatus } from './opsTypes.js';

describe('the ops answers the client declares', () => {
  it('are what the ops service sends, in both directions', () => {
    expectTypeOf<StatusV1>().toExtend<SystemStatus>();
    expectTypeOf<SystemStatus>().toExtend<StatusV1>();
    expectTypeOf<SessionListV1>().toExtend<SessionList>();
    expectTypeOf<SessionList>().toExtend<SessionListV1>();
    expectTypeOf<SessionShowV1>().toExtend<SessionView>();
    expectTypeOf<SessionView>().toExtend<SessionShowV1>();
    expectTypeOf<ReplayPageV1>().toExtend<ReplayPage>();
    expectTypeOf<ReplayPage>().toExtend<ReplayPageV1>();
  });
});
