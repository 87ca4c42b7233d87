import { compile, search } from '@jmespath-community/jmespath';
import type { JSONValue } from '@jmespath-community/jmespath';
import type { Document } from '../aws-shape.js';
import { UsageError } from '../errors.js';

/** A JSON value for the JMESPath engine: bigints as numbers where exact, else as text. */
function toJson(value: Document | undefined): JSONValue {
  if (value === undefined) return null;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  }
  if (Array.isArray(value)) return (value as readonly Document[]).map(toJson);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, toJson(item)]),
    );
  }
  return value;
}

/**
 * `--query`: the JMESPath expression applied to the result, as aws applies it. A bad expression
 * is a usage error (exit 252) naming it.
 */
export function applyQuery(document: Document, expression: string): Document {
  try {
    return search(toJson(document), expression);
  } catch (error) {
    throw new UsageError(`bad value for --query ${expression}: ${(error as Error).message}`);
  }
}

/** Refuses a --query that does not parse, before any call is made. */
export function checkQuery(expression: string): void {
  try {
    compile(expression);
  } catch (error) {
    throw new UsageError(`bad value for --query ${expression}: ${(error as Error).message}`);
  }
}
