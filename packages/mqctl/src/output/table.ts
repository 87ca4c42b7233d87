import type { Document, DocumentObject } from '../aws-shape.js';

/*
 * The terminal rendering of a document. Scalars and nested objects become an aligned
 * `Key  Value` block with dotted paths (DataReplicationMetadata.ReplicationStatus); a list of
 * scalars is one cell with a line per value; a list of objects becomes a titled section: a
 * table with a column per field when its items are flat, else one block per item.
 */

type Scalar = string | number | boolean | bigint | null;

/** A cell is one or more lines. */
type Cell = readonly string[];

interface Flattened {
  /** `Key  Value` rows, in document order. */
  readonly rows: (readonly [string, Cell])[];
  /** Lists of objects, rendered as sections after the rows. */
  readonly sections: (readonly [string, readonly Document[]])[];
}

const emptyCell: Cell = ['-'];

function isScalar(value: Document): value is Scalar {
  return value === null || typeof value !== 'object';
}

function scalarText(value: Scalar): string {
  if (value === null) return '-';
  return String(value);
}

/** A value that is not an object as one cell: a scalar, or a list with a line per item. */
function inlineCell(value: Document): Cell {
  if (isScalar(value)) return [scalarText(value)];
  if (Array.isArray(value)) {
    const items = value as readonly Document[];
    return items.length === 0 ? emptyCell : items.flatMap(inlineCell);
  }
  return [
    JSON.stringify(value, (_key, item: unknown) =>
      typeof item === 'bigint' ? item.toString() : item,
    ),
  ];
}

function isObject(value: Document): value is DocumentObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function flatten(object: DocumentObject, prefix = '', into?: Flattened): Flattened {
  const result: Flattened = into ?? { rows: [], sections: [] };
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    const path = `${prefix}${key}`;
    if (isScalar(value)) {
      result.rows.push([path, [scalarText(value)]]);
    } else if (Array.isArray(value)) {
      const items = value as readonly Document[];
      if (items.every(isScalar)) {
        result.rows.push([path, items.length === 0 ? emptyCell : items.map(scalarText)]);
      } else {
        result.sections.push([path, items]);
      }
    } else if (isObject(value)) {
      flatten(value, `${path}.`, result);
    }
  }
  return result;
}

function width(cell: Cell): number {
  return Math.max(0, ...cell.map((line) => line.length));
}

/** Aligned columns; a row is as tall as its tallest cell. */
function grid(rows: readonly (readonly Cell[])[], indent: string): string[] {
  const columns = Math.max(0, ...rows.map((row) => row.length));
  const widths = Array.from({ length: columns }, (_, column) =>
    Math.max(0, ...rows.map((row) => width(row[column] ?? []))),
  );
  const lines: string[] = [];
  for (const row of rows) {
    const height = Math.max(1, ...row.map((cell) => cell.length));
    for (let line = 0; line < height; line++) {
      const text = row
        .map((cell, column) =>
          column === row.length - 1
            ? (cell[line] ?? '')
            : (cell[line] ?? '').padEnd(widths[column] ?? 0),
        )
        .join('  ');
      lines.push(`${indent}${text}`.trimEnd());
    }
  }
  return lines;
}

function renderBlock(object: DocumentObject, indent: string): string[] {
  const { rows, sections } = flatten(object);
  const lines = grid(
    rows.map(([key, cell]) => [[key], cell]),
    indent,
  );
  for (const [path, items] of sections) {
    if (lines.length > 0) lines.push('');
    lines.push(...renderSection(path, items, indent));
  }
  return lines;
}

function renderSection(title: string, items: readonly Document[], indent: string): string[] {
  const lines = [`${indent}${title} (${items.length})`];
  const inner = `${indent}  `;
  if (items.length === 0) return [...lines, `${inner}(none)`];
  const flat = items.map((item): Flattened =>
    isObject(item) ? flatten(item) : { rows: [['Value', inlineCell(item)]], sections: [] },
  );
  if (flat.every((item) => item.sections.length === 0)) {
    const columns: string[] = [];
    for (const item of flat) {
      for (const [key] of item.rows) if (!columns.includes(key)) columns.push(key);
    }
    const header = columns.map((column) => [column]);
    const rule = columns.map((column) => ['-'.repeat(column.length)]);
    const body = flat.map((item) => {
      const cells = new Map(item.rows);
      return columns.map((column) => cells.get(column) ?? emptyCell);
    });
    return [...lines, ...grid([header, rule, ...body], inner)];
  }
  items.forEach((item, index) => {
    if (index > 0) lines.push('');
    lines.push(`${inner}[${index}]`);
    lines.push(
      ...(isObject(item)
        ? renderBlock(item, `${inner}  `)
        : inlineCell(item).map((line) => `${inner}  ${line}`)),
    );
  });
  return lines;
}

/**
 * Renders a document for a terminal. An empty object renders as nothing, as aws prints nothing
 * for an empty response.
 */
export function renderTable(document: Document): string {
  if (isScalar(document)) return scalarText(document);
  if (Array.isArray(document)) {
    return renderSection('Items', document as readonly Document[], '').join('\n');
  }
  return renderBlock(document as DocumentObject, '').join('\n');
}
