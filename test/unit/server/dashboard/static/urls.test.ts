/** The static snapshot's URL rewriting and path scrubbing (src/lib/server/dashboard/static/urls.ts). */
import { describe, expect, it } from 'vitest';
import { classify, decodeAttr, pageFile, queryStem, relativePath, rewriteUrls, scrubJson, scrubPaths, scrubRules, stripSvelteKitClient } from '../../../../../src/lib/server/dashboard/static/urls.ts';

const PAGE = 'http://127.0.0.1:4000/runs/lq-abc';

describe('snapshot file names', () => {
  it('names each page by its path and sorted query, with only URL-safe characters', () => {
    expect(pageFile('/', '')).toBe('index.html');
    expect(pageFile('/', '?over=own')).toBe('index--over=own.html');
    expect(pageFile('/runs/lq-abc', '?page=2')).toBe('runs/lq-abc--page=2.html');
    // Query order does not make a second file.
    expect(pageFile('/paper', '?restorer=x&data=paper')).toBe(pageFile('/paper', '?data=paper&restorer=x'));
    // The query as URLSearchParams writes it ('/' as %2F, ' ' as +), then made safe.
    expect(pageFile('/paper', '?data=a b&x=%2F')).toBe('paper--data=a~2bb~26x=~252F.html');
    expect(queryStem('a/b?c%d_e')).toBe('a~2fb~3fc~25d_e');
    // Two different queries never share a name (the escape character is itself escaped).
    expect(queryStem('~2f')).not.toBe(queryStem('/'));
  });

  it('classifies the live dashboard URLs', () => {
    expect(classify('/', PAGE)).toMatchObject({ kind: 'page', file: 'index.html' });
    expect(classify('?page=1', PAGE)).toMatchObject({ kind: 'page', file: 'runs/lq-abc--page=1.html' });
    expect(classify('/runs/x#sample-3', PAGE)).toMatchObject({ kind: 'page', file: 'runs/x.html', hash: '#sample-3' });
    expect(classify('/compare?runs=a,b&metric=psnr', PAGE)).toEqual({ kind: 'client', file: 'compare.html', search: '?runs=a,b&metric=psnr', hash: '' });
    expect(classify('/browse', PAGE)).toMatchObject({ kind: 'client', file: 'browse.html', search: '' });
    expect(classify('/api/runs/lq-abc/thumbs/s%2001/ref-1', PAGE)).toMatchObject({ kind: 'image', runId: 'lq-abc', sampleId: 's 01', image: 'ref-1', thumb: true });
    expect(classify('/api/runs/lq-abc/images/s01/gt', PAGE)).toMatchObject({ kind: 'image', thumb: false });
    expect(classify('./_app/immutable/assets/0.css', 'http://127.0.0.1:4000/')).toMatchObject({ kind: 'asset', file: '_app/immutable/assets/0.css' });
    expect(classify('https://github.com/x', PAGE)).toEqual({ kind: 'keep' });
    expect(classify('#top', PAGE)).toEqual({ kind: 'keep' });
    expect(classify('/api/runs/x/raw', PAGE)).toEqual({ kind: 'none' });
    expect(classify('/etc/passwd', PAGE)).toEqual({ kind: 'none' });
  });
});

describe('relative links', () => {
  it('climbs out of the linking file’s folder', () => {
    expect(relativePath('index.html', 'runs/a.html')).toBe('runs/a.html');
    expect(relativePath('runs/a.html', 'index.html')).toBe('../index.html');
    expect(relativePath('runs/a.html', 'runs/b.html')).toBe('b.html');
    expect(relativePath('runs/a.html', 'img/x.webp')).toBe('../img/x.webp');
    expect(relativePath('a/b/c.html', 'a/d.html')).toBe('../d.html');
  });

  it('rewrites href, src and action (either quote), decoding and re-encoding entities', () => {
    const html = `<a href="/compare?runs=a&amp;metric=psnr">c</a><img src='/x.png'><form action="/browse" method="GET"></form><a class="href" title="src=/x">t</a>`;
    const seen: string[] = [];
    const out = rewriteUrls(html, (u) => (seen.push(u), u === '/x.png' ? null : `new${u}`));
    expect(seen).toEqual(['/compare?runs=a&metric=psnr', '/x.png', '/browse']);
    expect(out).toBe(`<a href="new/compare?runs=a&amp;metric=psnr">c</a><img src="#"><form action="new/browse" method="GET"></form><a class="href" title="src=/x">t</a>`);
    expect(decodeAttr('a&#47;b&#x2F;c&lt;&unknown;')).toBe('a/b/c<&unknown;');
  });

  it('removes SvelteKit’s client but keeps other scripts', () => {
    const html = `<link rel="modulepreload" href="/_app/x.js"><script>__sveltekit_1 = {}; kit.start()</script><script>keep()</script>`;
    expect(stripSvelteKitClient(html)).toBe('<script>keep()</script>');
  });
});

describe('path scrubbing', () => {
  const rules = scrubRules({ resultsDir: '/home/ana/exp/results', repoRoot: '/home/ana/refbench', home: '/home/ana', tmp: '/tmp' });

  it('replaces the results folder by its name and the checkout by a label; under home or tmp keeps only the last segment', () => {
    expect(scrubPaths('Results folder: /home/ana/exp/results', rules)).toBe('Results folder: results');
    expect(scrubPaths('"/home/ana/exp/results/runs/a/outputs/s1.png"', rules)).toBe('"results/runs/a/outputs/s1.png"');
    expect(scrubPaths('"/home/ana/refbench/models/x.onnx"', rules)).toBe('"[refbench]/models/x.onnx"');
    expect(scrubPaths('cache at /home/ana/.cache/client-x/a, then', rules)).toBe('cache at …/a, then');
    expect(scrubPaths('"/tmp/refbench-x/ds"', rules)).toBe('"…/ds"');
    expect(scrubPaths('HOME=/home/ana', rules)).toBe('HOME=…');
    // A folder whose name only starts like the results folder's is not it: the next rule (home) applies.
    expect(scrubPaths('/home/ana/exp/results2/a', rules)).toBe('…/a');
    expect(scrubPaths('/home/anabel/a/b', rules)).toBe('…/b');
  });

  it('shortens any other absolute path to its last segment, and leaves URLs and relative paths alone', () => {
    expect(scrubPaths('weights /data/models/arcface.onnx (sha)', rules)).toBe('weights …/arcface.onnx (sha)');
    expect(scrubPaths('see https://example.org/a/b and runs/x/y and 1/2', rules)).toBe('see https://example.org/a/b and runs/x/y and 1/2');
    expect(scrubPaths('<a href="../img/x.webp">x</a><br />', rules)).toBe('<a href="../img/x.webp">x</a><br />');
    expect(scrubPaths('--root=/srv/ds/ffhq', rules)).toBe('--root=…/ffhq');
  });

  it('scrubs every string of a run.json, keys included, and keeps other values', () => {
    const run = { dataset: { root: '/home/ana/exp/data/ffhq', size: 3 }, model: { path: '/opt/m/w.onnx', ok: true }, '/tmp/k': null, note: 'ok' };
    const out = JSON.stringify(scrubJson(run, rules));
    expect(out).not.toMatch(/\/home|\/opt|\/tmp/);
    expect(scrubJson(run, rules)).toEqual({ dataset: { root: '…/ffhq', size: 3 }, model: { path: '…/w.onnx', ok: true }, '…/k': null, note: 'ok' });
  });
});
