import type { Document, DocumentObject } from '../aws-shape.js';

/*
 * `--output text` exactly as the aws CLI prints it (awscli/formatter.py, TextFormatter), so that
 * scripts written for `aws --output text` (cut, read, awk) work unchanged:
 * - an object prints its scalar values on one tab-separated line, keys in sorted order, then each
 *   list or object value in sorted key order, with the key upper-cased as the line's first field;
 * - a list of objects prints one line per object, every line holding the same columns: the
 *   sorted union of the objects' scalar keys ("None" where an object lacks one);
 * - a list of scalars prints one line `KEY\tvalue` per value, or all values tab-separated when
 *   the list has no key (a bare --query result);
 * - a scalar prints alone. Booleans and null are spelled as Python spells them (True, False,
 *   None), as aws does.
 */

type Scalar = string | number | boolean | bigint | null;

function isScalar(value: Document): value is Scalar {
  return value === null || typeof value !== 'object';
}

function isObject(value: Document): value is DocumentObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: Document | undefined): string {
  if (value === undefined || value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function sortedEntries(object: DocumentObject): [string, Document][] {
  return Object.entries(object)
    .filter((entry): entry is [string, Document] => entry[1] !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function formatObject(
  object: DocumentObject,
  identifier: string | undefined,
  scalarKeys: readonly string[] | undefined,
  out: string[],
): void {
  const scalars: string[] = [];
  const nested: [string, Document][] = [];
  if (scalarKeys === undefined) {
    for (const [key, value] of sortedEntries(object)) {
      if (isScalar(value)) scalars.push(text(value));
      else nested.push([key, value]);
    }
  } else {
    for (const key of scalarKeys) scalars.push(text(object[key]));
    for (const [key, value] of sortedEntries(object)) {
      if (!scalarKeys.includes(key)) nested.push([key, value]);
    }
  }
  if (scalars.length > 0) {
    if (identifier !== undefined) scalars.unshift(identifier.toUpperCase());
    out.push(scalars.join('\t'));
  }
  for (const [key, value] of nested) format(value, key, undefined, out);
}

function formatScalarList(items: readonly Scalar[], identifier: string | undefined, out: string[]) {
  if (identifier !== undefined) {
    for (const item of items) out.push(`${identifier.toUpperCase()}\t${text(item)}`);
  } else {
    out.push(items.map(text).join('\t'));
  }
}

function formatList(items: readonly Document[], identifier: string | undefined, out: string[]) {
  if (items.length === 0) return;
  if (items.some(isObject)) {
    const keys = new Set<string>();
    for (const item of items) {
      if (!isObject(item)) continue;
      for (const [key, value] of Object.entries(item)) {
        if (value !== undefined && isScalar(value)) keys.add(key);
      }
    }
    const scalarKeys = [...keys].sort();
    for (const item of items) format(item, identifier, scalarKeys, out);
  } else if (items.some(Array.isArray)) {
    const scalars = items.filter(isScalar);
    if (scalars.length > 0) formatScalarList(scalars, identifier, out);
    for (const item of items) if (!isScalar(item)) format(item, identifier, undefined, out);
  } else {
    formatScalarList(items as readonly Scalar[], identifier, out);
  }
}

function format(
  value: Document,
  identifier: string | undefined,
  scalarKeys: readonly string[] | undefined,
  out: string[],
): void {
  if (isObject(value)) formatObject(value, identifier, scalarKeys, out);
  else if (Array.isArray(value)) formatList(value as readonly Document[], identifier, out);
  else out.push(text(value));
}

/** The document as `aws --output text` prints it; '' when it prints nothing. */
export function renderText(document: Document): string {
  const out: string[] = [];
  format(document, undefined, undefined, out);
  return out.join('\n');
}
