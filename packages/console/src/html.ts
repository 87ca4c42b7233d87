/**
 * HTML built only through the `markup` tagged template: every interpolated value is escaped unless
 * it is already `SafeHtml` (the output of another `markup` template), so a broker name, a queue
 * name, a message body or an API error can never become markup.
 */
const safeBrand: unique symbol = Symbol('SafeHtml');

export interface SafeHtml {
  readonly [safeBrand]: true;
  readonly value: string;
}

/** What a template may interpolate: nothing renders for null, undefined and false. */
export type HtmlValue =
  SafeHtml | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

const escapes: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Escapes text for an element's content or a double- or single-quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (character) => escapes[character] ?? character);
}

function trusted(value: string): SafeHtml {
  return { [safeBrand]: true, value };
}

export function isSafeHtml(value: unknown): value is SafeHtml {
  return typeof value === 'object' && value !== null && safeBrand in value;
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (isSafeHtml(value)) return value.value;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(render).join('');
  switch (typeof value) {
    case 'string':
      return escapeHtml(value);
    case 'number':
    case 'bigint':
    case 'boolean':
      return escapeHtml(value.toString());
    default:
      // Anything else (a forged object) is shown as text, never trusted.
      return escapeHtml(Object.prototype.toString.call(value));
  }
}

/** `markup\`<td>${name}</td>\`` escapes `name`; nested templates stay as they are. */
export function markup(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return trusted(out);
}

/** Markup the console itself wrote without a template (the sparkline's SVG numbers). */
export function unsafeRaw(markup: string): SafeHtml {
  return trusted(markup);
}

export function toHtmlString(value: SafeHtml): string {
  return value.value;
}

/** A path under the console with each segment percent-encoded (the result still gets escaped). */
export function consolePath(...segments: readonly string[]): string {
  return '/' + segments.map((segment) => encodeURIComponent(segment)).join('/');
}

/** `?a=1&b=2` from pairs, percent-encoded; empty when there are none. */
export function queryString(params: Readonly<Record<string, string | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined) search.set(key, value);
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}
