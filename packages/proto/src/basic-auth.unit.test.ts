import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { formatBasicAuth, parseBasicAuth } from './basic-auth.js';

function withAuthorization(value: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', value);
  return metadata;
}

describe('parseBasicAuth', () => {
  it('reads what formatBasicAuth writes, colons and non-ASCII in the password included', () => {
    const credentials = { username: 'jürgen', password: 'p:a:ss wörd' };
    expect(parseBasicAuth(withAuthorization(formatBasicAuth(credentials)))).toEqual(credentials);
  });

  it('reads the standard encoding', () => {
    expect(parseBasicAuth(withAuthorization('Basic YWRtaW46c2VjcmV0'))).toEqual({
      username: 'admin',
      password: 'secret',
    });
    expect(parseBasicAuth(withAuthorization('basic YWRtaW46c2VjcmV0'))?.username).toBe('admin');
  });

  it('allows an empty password', () => {
    expect(
      parseBasicAuth(withAuthorization(formatBasicAuth({ username: 'u', password: '' }))),
    ).toEqual({
      username: 'u',
      password: '',
    });
  });

  it.each([
    ['absent', undefined],
    ['another scheme', 'Bearer abc.def'],
    ['no token', 'Basic '],
    ['no colon', `Basic ${Buffer.from('admin').toString('base64')}`],
    ['empty username', `Basic ${Buffer.from(':secret').toString('base64')}`],
    ['not base64', 'Basic ***'],
  ])('is undefined when %s', (_, value) => {
    const metadata = value === undefined ? new Metadata() : withAuthorization(value);
    expect(parseBasicAuth(metadata)).toBeUndefined();
  });
});
