import type { Document } from '../aws-shape.js';

function quote(text: string): string {
  return JSON.stringify(text);
}

function render(value: Document, indent: string, step: string): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'boolean') return String(value);
  const inner = indent + step;
  if (Array.isArray(value)) {
    const items = value as readonly Document[];
    if (items.length === 0) return '[]';
    return `[\n${items.map((item) => inner + render(item, inner, step)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(
    (entry): entry is [string, Document] => entry[1] !== undefined,
  );
  if (entries.length === 0) return '{}';
  return `{\n${entries
    .map(([key, item]) => `${inner}${quote(key)}: ${render(item, inner, step)}`)
    .join(',\n')}\n${indent}}`;
}

/**
 * JSON as aws prints it (4-space indent), with bigints (uint64 sequences) written as exact JSON
 * numbers, which JSON.stringify cannot do, and undefined fields left out.
 */
export function renderJson(value: Document): string {
  return render(value, '', '    ');
}
