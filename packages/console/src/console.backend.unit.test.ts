import { describe, expect, it } from 'vitest';
import { brokerGrpcAddresses, grpcAddressOf } from './console.backend.js';
import type { BrokerDescription } from './model.js';

describe('broker gRPC addresses', () => {
  it('take host:port from grpc:// endpoints only', () => {
    expect(grpcAddressOf('grpc://127.0.0.1:7000')).toBe('127.0.0.1:7000');
    expect(grpcAddressOf('stomp://127.0.0.1:61613')).toBeUndefined();
  });

  it('list the serving instance first, without duplicates', () => {
    const broker = {
      brokerInstances: [
        {
          endpoints: ['stomp://h:1', 'grpc://h:2'],
          consoleUrl: '',
          ipAddress: '',
          instanceState: 'STANDBY',
        },
        {
          endpoints: ['grpc://h:3', 'ws://h:4'],
          consoleUrl: '',
          ipAddress: '',
          instanceState: 'ACTIVE',
        },
        { endpoints: ['grpc://h:3'], consoleUrl: '', ipAddress: '', instanceState: '' },
      ],
    } as unknown as BrokerDescription;
    expect(brokerGrpcAddresses(broker)).toEqual(['h:3', 'h:2']);
  });
});
