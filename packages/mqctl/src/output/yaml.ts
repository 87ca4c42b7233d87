import { stringify } from 'yaml';
import type { Document } from '../aws-shape.js';

/** bigint → number where exact, else the decimal digits (YAML has no integer limit, JS has). */
function plain(value: Document | undefined): unknown {
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  if (Array.isArray(value)) return (value as readonly Document[]).map(plain);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, plain(item)]),
    );
  }
  return value;
}

/** `--output yaml`, as aws prints it: block style, keys in document order. */
export function renderYaml(document: Document): string {
  return stringify(plain(document), { lineWidth: 0 }).trimEnd();
}
