import { describe, expect, it } from 'vitest';
import { CrdrError } from '@crdr/errors';
import { UsageError } from './errors.js';
import {
  endpointFromFile,
  normalizeEndpoint,
  parseEndpointsFile,
  resolveRegion,
} from './endpoints.js';

const file = parseEndpointsFile(
  JSON.stringify({
    regions: {
      'region-a': { controlPlane: '127.0.0.1:7001', metricsHttp: 'http://127.0.0.1:7002' },
      'region-b': { controlPlane: 'grpc://127.0.0.1:7101' },
    },
  }),
  '/repo/.stack/endpoints.json',
);

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('endpoints', () => {
  it('picks regions[R][key], as HOST:PORT', () => {
    expect(endpointFromFile(file, 'region-a', 'controlPlane')).toBe('127.0.0.1:7001');
    expect(endpointFromFile(file, 'region-b', 'controlPlane')).toBe('127.0.0.1:7101');
  });

  it('names an unknown Region and the known ones', () => {
    const error = thrown(() => endpointFromFile(file, 'region-c', 'controlPlane'));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      'unknown Region "region-c": /repo/.stack/endpoints.json has region-a, region-b',
    );
  });

  it('names a missing endpoint key (a service not in the stack)', () => {
    const error = thrown(() => endpointFromFile(file, 'region-a', 'metricsGrpc'));
    expect(error).toBeInstanceOf(CrdrError);
    expect((error as Error).message).toMatch(
      /^\/repo\/\.stack\/endpoints\.json has no metricsGrpc endpoint for region-a; .*pnpm stack up/,
    );
  });

  it('refuses a file that is not the stack file', () => {
    expect((thrown(() => parseEndpointsFile('{', 'f.json')) as Error).message).toMatch(
      /^f\.json is not valid JSON/,
    );
    expect((thrown(() => parseEndpointsFile('{"x":1}', 'f.json')) as Error).message).toMatch(
      /^f\.json has no "regions" object/,
    );
  });

  it('normalizes --endpoint-url and names a bad one', () => {
    expect(normalizeEndpoint('localhost:50051', '--endpoint-url')).toBe('localhost:50051');
    expect(normalizeEndpoint('grpc://10.0.0.1:7000/', '--endpoint-url')).toBe('10.0.0.1:7000');
    expect(normalizeEndpoint('http://[::1]:7000', '--endpoint-url')).toBe('[::1]:7000');
    expect((thrown(() => normalizeEndpoint('localhost', '--endpoint-url')) as Error).message).toBe(
      'bad endpoint "localhost" (--endpoint-url); expected HOST:PORT',
    );
    expect(thrown(() => normalizeEndpoint('h:70000', '--endpoint-url'))).toBeInstanceOf(UsageError);
  });

  it('takes the Region from --region, else MQCTL_REGION, else region-a', () => {
    expect(resolveRegion('region-b', { MQCTL_REGION: 'region-c' })).toBe('region-b');
    expect(resolveRegion(undefined, { MQCTL_REGION: 'region-c' })).toBe('region-c');
    expect(resolveRegion(undefined, {})).toBe('region-a');
  });
});
