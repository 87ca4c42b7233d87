import { describe, expect, it } from 'vitest';
import { consolePath, escapeHtml, markup, queryString, toHtmlString } from './html.js';

describe('markup', () => {
  it('escapes every interpolated string', () => {
    const name = `<script>alert("x")</script>' \`&`;
    expect(toHtmlString(markup`<td title="${name}">${name}</td>`)).toBe(
      '<td title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &#96;&amp;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; &#96;&amp;</td>',
    );
  });

  it('keeps nested templates and escapes arrays item by item', () => {
    const items = ['<a>', 'b&'];
    expect(toHtmlString(markup`<ul>${items.map((item) => markup`<li>${item}</li>`)}</ul>`)).toBe(
      '<ul><li>&lt;a&gt;</li><li>b&amp;</li></ul>',
    );
    expect(toHtmlString(markup`${['<i>', 1, 2n]}`)).toBe('&lt;i&gt;12');
  });

  it('renders nothing for null, undefined and false, and text for numbers and true', () => {
    expect(toHtmlString(markup`[${null}${undefined}${false}${0}${true}]`)).toBe('[0true]');
  });

  it('does not treat a look-alike object as safe markup', () => {
    const forged = { value: '<b>' } as unknown as string;
    expect(toHtmlString(markup`${forged}`)).toBe('[object Object]');
  });

  it('escapes the five characters of HTML and the backtick', () => {
    expect(escapeHtml(`&<>"'\``)).toBe('&amp;&lt;&gt;&quot;&#39;&#96;');
  });

  it('percent-encodes path segments and query values', () => {
    expect(consolePath('brokers', 'a/b', 'queues', 'Test Queue?')).toBe(
      '/brokers/a%2Fb/queues/Test%20Queue%3F',
    );
    expect(queryString({ type: 'queue', name: 'a&b=c', skip: undefined })).toBe(
      '?type=queue&name=a%26b%3Dc',
    );
    expect(queryString({})).toBe('');
  });
});
