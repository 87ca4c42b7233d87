import { describe, expect, it } from 'vitest';
import { CrdrError, notFound } from '@crdr/errors';
import {
  UsageError,
  errorDocument,
  formatError,
  markServiceError,
  withAwsFieldNames,
} from './errors.js';

const target = {
  endpoint: '127.0.0.1:7001',
  endpointSource: '/repo/.stack/endpoints.json',
  region: 'region-a',
  serviceLabel: 'the control plane',
};

describe('formatError', () => {
  it('reports usage errors with exit status 252 and code BadRequestException', () => {
    expect(formatError(new UsageError('missing required option --broker-id'))).toEqual({
      code: 'BadRequestException',
      message: 'missing required option --broker-id',
      exitCode: 252,
    });
  });

  it("reports the server's errors with their AWS exception name and message, exit status 254", () => {
    const error = notFound('broker b-404 not found');
    markServiceError(error);
    expect(formatError(error, target)).toEqual({
      code: 'NotFoundException',
      message: 'broker b-404 not found',
      exitCode: 254,
    });
    for (const [code, name] of [
      ['BadRequest', 'BadRequestException'],
      ['Conflict', 'ConflictException'],
      ['Forbidden', 'ForbiddenException'],
      ['Unauthenticated', 'UnauthorizedException'],
      ['Internal', 'InternalServerErrorException'],
    ] as const) {
      const answered = new CrdrError(code, 'x');
      markServiceError(answered);
      expect(formatError(answered, target)).toMatchObject({ code: name, exitCode: 254 });
    }
  });

  it("renames proto field names in the server's messages to the AWS API's names", () => {
    const error = new CrdrError(
      'BadRequest',
      'invalid data_replication_primary_broker_arn: "arn:x_y" is not an ARN; see broker_id',
    );
    markServiceError(error);
    expect(formatError(error, target).message).toBe(
      'invalid DataReplicationPrimaryBrokerArn: "arn:x_y" is not an ARN; see BrokerId',
    );
    expect(withAwsFieldNames('invalid users.username: admin is reserved')).toBe(
      'invalid Users.Username: admin is reserved',
    );
    expect(withAwsFieldNames('queue my_queue_name is full')).toBe('queue my_queue_name is full');
  });

  it('names the endpoint and suggests pnpm stack up when it cannot be reached', () => {
    const refused = new CrdrError(
      'Unavailable',
      'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7001. Resolution note:.',
      {
        details: { grpcStatus: 'UNAVAILABLE' },
      },
    );
    const formatted = formatError(refused, target);
    expect(formatted.code).toBe('EndpointConnectionError');
    expect(formatted.exitCode).toBe(255);
    expect(formatted.message).toBe(
      'cannot reach the control plane of region-a at 127.0.0.1:7001 (from /repo/.stack/endpoints.json): No connection established. Last error: connect ECONNREFUSED 127.0.0.1:7001. Is the stack running? Start it with `pnpm stack up`, or pass --endpoint-url HOST:PORT.',
    );
    // Unavailable thrown by the control plane itself (a trailer, no grpcStatus) is its own message.
    expect(
      formatError(new CrdrError('Unavailable', 'region-a is unreachable'), target).message,
    ).toBe('region-a is unreachable');
  });

  it('names the endpoint that did not answer in time', () => {
    const late = new CrdrError('DeadlineExceeded', 'Deadline exceeded', {
      details: { grpcStatus: 'DEADLINE_EXCEEDED' },
    });
    expect(formatError(late, target).message).toBe(
      'the control plane of region-a at 127.0.0.1:7001 (from /repo/.stack/endpoints.json) did not answer in time: Deadline exceeded',
    );
  });

  it('says when the server lacks the call', () => {
    const missing = new CrdrError('Internal', 'The server does not implement the method Promote', {
      details: { grpcStatus: 'UNIMPLEMENTED' },
    });
    expect(formatError(missing, target).message).toBe(
      'the control plane of region-a at 127.0.0.1:7001 (from /repo/.stack/endpoints.json) does not implement this call (The server does not implement the method Promote); is it an older version?',
    );
  });

  it('keeps the message to one line and reports anything else as Internal', () => {
    expect(formatError(new Error('first\nsecond'))).toEqual({
      code: 'InternalServerErrorException',
      message: 'first',
      exitCode: 255,
    });
  });
});

describe('errorDocument', () => {
  it('shapes the error as the AWS APIs do', () => {
    expect(errorDocument({ code: 'NotFound', message: 'gone', exitCode: 1 })).toEqual({
      Error: { Code: 'NotFound', Message: 'gone' },
    });
  });
});
