import { Metadata, status } from '@grpc/grpc-js';
import { CrdrError, errorCodes, internal, notFound } from '@crdr/errors';
import { describe, expect, it } from 'vitest';
import {
  errorCodeByGrpcStatus,
  errorCodeMetadataKey,
  fromGrpcError,
  grpcStatusByErrorCode,
  internalErrorMessage,
  toGrpcStatus,
} from './status-mapping.js';

/** What a grpc-js client hands its callback when the server answered with `sent`. */
function asReceived(sent: ReturnType<typeof toGrpcStatus>): Error & {
  code: number;
  details: string;
  metadata: Metadata;
} {
  // The wire carries the trailers as they were set; clone so the test does not share objects.
  return Object.assign(new Error(`${sent.code} ${status[sent.code]}: ${sent.details}`), {
    code: sent.code,
    details: sent.details,
    metadata: sent.metadata.clone(),
  });
}

describe('toGrpcStatus / fromGrpcError', () => {
  it.each(errorCodes)('round-trips %s with its message and details', (code) => {
    const original = new CrdrError(code, `something about ${code}`, {
      details: { field: 'destination', note: 'ünïcødé ✓' },
    });
    const sent = toGrpcStatus(original);
    expect(sent.code).toBe(grpcStatusByErrorCode[code]);
    expect(sent.details).toBe(original.message);
    expect(sent.metadata.get(errorCodeMetadataKey)).toEqual([code]);

    const restored = fromGrpcError(asReceived(sent));
    expect(restored).toBeInstanceOf(CrdrError);
    expect(restored.code).toBe(code);
    expect(restored.message).toBe(original.message);
    expect(restored.details).toEqual(original.details);
  });

  it('round-trips an error without details to empty details', () => {
    const restored = fromGrpcError(asReceived(toGrpcStatus(notFound('queue X'))));
    expect(restored.code).toBe('NotFound');
    expect(restored.message).toBe('queue X');
    expect(restored.details).toEqual({});
  });

  it('maps the codes the brief decided on', () => {
    expect(grpcStatusByErrorCode).toEqual({
      BadRequest: status.INVALID_ARGUMENT,
      NotFound: status.NOT_FOUND,
      Conflict: status.ABORTED,
      Forbidden: status.PERMISSION_DENIED,
      Unauthenticated: status.UNAUTHENTICATED,
      FailedPrecondition: status.FAILED_PRECONDITION,
      ResourceExhausted: status.RESOURCE_EXHAUSTED,
      Unavailable: status.UNAVAILABLE,
      DeadlineExceeded: status.DEADLINE_EXCEEDED,
      Aborted: status.ABORTED,
      Internal: status.INTERNAL,
    });
  });

  it('answers an unknown error with a generic INTERNAL status, never its message or stack', () => {
    const sent = toGrpcStatus(new Error('password=hunter2 at db.ts:42'));
    expect(sent.code).toBe(status.INTERNAL);
    expect(sent.details).toBe(internalErrorMessage);
    expect(JSON.stringify(sent.metadata.getMap())).not.toContain('hunter2');
    expect(fromGrpcError(asReceived(sent)).code).toBe('Internal');
    expect(toGrpcStatus('a string').details).toBe(internalErrorMessage);
  });

  it('passes the message of an Internal CrdrError, which the code wrote on purpose', () => {
    expect(toGrpcStatus(internal('store unreachable')).details).toBe('store unreachable');
  });

  it('maps every status without our trailer by the inverse table and names the status', () => {
    for (const code of Object.values(status).filter((v): v is number => typeof v === 'number')) {
      if (code === (status.OK as number)) continue;
      const restored = fromGrpcError({ code, details: 'from elsewhere', metadata: new Metadata() });
      expect(restored.code).toBe(errorCodeByGrpcStatus[code as status]);
      expect(restored.message).toBe('from elsewhere');
      expect(restored.details).toEqual({ grpcStatus: status[code] });
    }
    // The inverse of the server table agrees with it wherever one status means one code.
    for (const code of errorCodes) {
      if (code === 'Conflict') continue; // ABORTED without a trailer reads as Aborted
      expect(errorCodeByGrpcStatus[grpcStatusByErrorCode[code]]).toBe(code);
    }
  });

  it('ignores a trailer with an unknown code or malformed details', () => {
    const metadata = new Metadata();
    metadata.set(errorCodeMetadataKey, 'NoSuchCode');
    expect(fromGrpcError({ code: status.NOT_FOUND, details: 'x', metadata }).code).toBe('NotFound');

    const bad = new Metadata();
    bad.set(errorCodeMetadataKey, 'Conflict');
    bad.set('crdr-error-details-bin', Buffer.from('{not json'));
    const restored = fromGrpcError({ code: status.ABORTED, details: 'x', metadata: bad });
    expect(restored.code).toBe('Conflict');
    expect(restored.details).toEqual({});
  });

  it('returns a CrdrError as it is and wraps anything else as Internal', () => {
    const error = notFound('queue X');
    expect(fromGrpcError(error)).toBe(error);
    const wrapped = fromGrpcError(new TypeError('boom'));
    expect(wrapped.code).toBe('Internal');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
  });
});
