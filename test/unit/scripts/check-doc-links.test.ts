/**
 * scripts/check-doc-links.ts: the repository's README.md and docs/*.md have no dead relative link or anchor, and
 * the checker does find dead files and anchors (on a temporary tree), while ignoring code and absolute URLs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deadLinks, docFiles, headingSlug } from '../../../scripts/check-doc-links.ts';

const REPO = join(import.meta.dirname, '../../..');
const tmp = mkdtempSync(join(tmpdir(), 'refbench-doclinks-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('check-doc-links', () => {
  it('README.md and docs/*.md have no dead relative links', () => {
    expect(docFiles(REPO).map((f) => relative(REPO, f))).toContain('docs/architecture.md');
    expect(deadLinks(REPO).map((d) => `${relative(REPO, d.file)}:${d.line}: ${d.link} (${d.why})`)).toEqual([]);
  });

  it('finds a missing file and a missing anchor, and ignores code, URLs and good links', () => {
    mkdirSync(join(tmp, 'docs', 'img'), { recursive: true });
    writeFileSync(join(tmp, 'docs', 'img', 'a.png'), '');
    writeFileSync(join(tmp, 'docs', 'b.md'), '# Title\n\n## 6. Glossary: names\n\n## Glossary: names\n');
    writeFileSync(
      join(tmp, 'README.md'),
      [
        '[ok](docs/b.md) ![img](docs/img/a.png) [anchor](docs/b.md#6-glossary-names) [dup](docs/b.md#glossary-names)',
        '[gone](docs/missing.md) and [bad anchor](docs/b.md#nope)',
        '`[in code](docs/none.md)` [web](https://example.org/x.md) [self](#title)',
        '```',
        '[fenced](docs/none.md)',
        '```',
        '# Title',
      ].join('\n'),
    );
    writeFileSync(join(tmp, 'docs', 'c.md'), '[up](../README.md) [sibling](b.md) [dead](../nowhere/x.md)\n');
    const dead = deadLinks(tmp).map((d) => `${relative(tmp, d.file)}:${d.line}: ${d.link} (${d.why})`);
    expect(dead).toEqual([
      'README.md:2: docs/missing.md (no such file)',
      'README.md:2: docs/b.md#nope (no heading with anchor #nope)',
      'docs/c.md:1: ../nowhere/x.md (no such file)',
    ]);
  });

  it('slugs headings as GitHub does', () => {
    expect(headingSlug('6. Glossary')).toBe('6-glossary');
    expect(headingSlug('4.1 Add a metric — `test/x.ts`')).toBe('41-add-a-metric--testxts');
  });
});
