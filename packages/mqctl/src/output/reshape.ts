import type { Document, DocumentObject } from '../aws-shape.js';

function isObject(value: Document | undefined): value is DocumentObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The document with `fields` left out of each item of its list `key` (for a narrower table). */
export function omitFromItems(
  document: Document,
  key: string,
  fields: readonly string[],
): Document {
  if (!isObject(document)) return document;
  const items = document[key];
  if (!Array.isArray(items)) return document;
  return {
    ...document,
    [key]: (items as readonly Document[]).map((item) =>
      isObject(item)
        ? Object.fromEntries(Object.entries(item).filter(([field]) => !fields.includes(field)))
        : item,
    ),
  };
}
