import { describe, expectTypeOf, it } from 'vitest';
import type { brokerV1, ClientOf, ProtoGrpcType } from './index.js';

type BrokerClient = ClientOf<ProtoGrpcType['crdr']['broker']['v1']['BrokerService']>;
type AdminClient = ClientOf<ProtoGrpcType['crdr']['broker']['v1']['BrokerAdminService']>;

// Type-level checks: tsc (pnpm typecheck) fails when the mapping from generated clients breaks.
describe('ClientOf', () => {
  it('maps each kind of method to its promise-based form, named in lowerCamelCase', () => {
    expectTypeOf<BrokerClient['send']>().parameter(0).toEqualTypeOf<brokerV1.SendRequest>();
    expectTypeOf<BrokerClient['send']>().returns.toEqualTypeOf<
      Promise<brokerV1.SendResponse__Output>
    >();
    expectTypeOf<BrokerClient['sendStream']>()
      .parameter(0)
      .toEqualTypeOf<Iterable<brokerV1.SendRequest> | AsyncIterable<brokerV1.SendRequest>>();
    expectTypeOf<BrokerClient['sendStream']>().returns.toEqualTypeOf<
      Promise<brokerV1.SendStreamResponse__Output>
    >();
    expectTypeOf<BrokerClient['receive']>().returns.toEqualTypeOf<
      AsyncGenerator<brokerV1.Delivery__Output, void, undefined>
    >();
    expectTypeOf<AdminClient['setRole']>().returns.toEqualTypeOf<
      Promise<brokerV1.SetRoleResponse__Output>
    >();
  });

  it('has only the service methods and its own members', () => {
    expectTypeOf<keyof BrokerClient>().toEqualTypeOf<
      | 'send'
      | 'sendStream'
      | 'receive'
      | 'ack'
      | 'nack'
      | 'beginTransaction'
      | 'commitTransaction'
      | 'abortTransaction'
      | 'waitForReady'
      | 'close'
      | 'grpcClient'
    >();
  });
});
