import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../tools/paths';
import { documentationFiles, githubSlug, headingAnchors, markdownLinks } from './markdown';

/**
 * The broken relative links of one Markdown file: a target file that does not exist, or an anchor that is no
 * heading of the target Markdown file. External links (a scheme such as `https:` or `mailto:`) are not checked.
 */
function brokenLinks(
  file: string,
  markdown: string,
  readTarget: (file: string) => string | undefined = readProjectFile,
): string[] {
  const broken: string[] = [];
  for (const { target, line } of markdownLinks(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const [pathPart = '', anchor] = target.split('#', 2);
    const targetFile =
      pathPart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), pathPart));
    const where = `${file}:${line} → ${target}`;
    const text = readTarget(targetFile);
    if (text === undefined) {
      broken.push(`${where}: ${targetFile} does not exist`);
    } else if (anchor !== undefined && anchor !== '') {
      if (!targetFile.endsWith('.md')) broken.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!headingAnchors(text).has(anchor))
        broken.push(`${where}: ${targetFile} has no heading #${anchor}`);
    }
  }
  return broken;
}

/** A project file's text ('' for a directory), or undefined when it does not exist (or lies outside the project). */
function readProjectFile(file: string): string | undefined {
  if (file.startsWith('..')) return undefined;
  const absolute = path.join(projectRoot, file);
  if (!existsSync(absolute)) return undefined;
  return statSync(absolute).isDirectory() ? '' : readFileSync(absolute, 'utf8');
}

describe('links of the README and the guide', () => {
  const files = documentationFiles(projectRoot);

  it('finds the README and the guide pages', () => {
    expect(files).toContain('README.md');
    expect(files).toContain('docs/README.md');
  });

  it.each(files)('fails if %s links to a file or heading that does not exist', (file) => {
    // GIVEN the file's relative links
    const markdown = readFileSync(path.join(projectRoot, file), 'utf8');

    // THEN each one resolves
    expect(brokenLinks(file, markdown)).toEqual([]);
  });
});

describe('the link checker', () => {
  const pages: Record<string, string> = {
    'docs/guide.md':
      '# Guide\n\n## Operate it: `npx tool`\n\n## Transactional ("half") messages\n\n## Twice\n\n## Twice\n',
  };
  const read = (file: string) => pages[file];

  it('fails if a link names a missing file, a missing heading, or a heading that is only in a code block', () => {
    // GIVEN a fake page with good and broken links
    const markdown = [
      '[ok](guide.md) [ok](guide.md#operate-it-npx-tool) [ok](#transactional-half-messages) [ok](#twice-1)',
      '[missing file](nowhere.md) [missing anchor](guide.md#not-a-heading) [web](https://example.com/x.md)',
      '`[in code](nowhere.md)`',
      '```',
      '# not a heading',
      '[in a block](nowhere-either.md)',
      '```',
      '[code heading](#not-a-heading)',
    ].join('\n');
    pages['docs/page.md'] = `${markdown}\n\n## Transactional ("half") messages\n\n## Twice\n\n## Twice\n`;

    // WHEN it is checked
    const broken = brokenLinks('docs/page.md', pages['docs/page.md'], read);

    // THEN exactly the three broken links are reported
    expect(broken).toEqual([
      'docs/page.md:2 → nowhere.md: docs/nowhere.md does not exist',
      'docs/page.md:2 → guide.md#not-a-heading: docs/guide.md has no heading #not-a-heading',
      'docs/page.md:8 → #not-a-heading: docs/page.md has no heading #not-a-heading',
    ]);
  });

  it("makes GitHub's anchors from headings", () => {
    expect(githubSlug('Operate it: `npx reliable-messaging-ops`')).toBe(
      'operate-it-npx-reliable-messaging-ops',
    );
    expect(githubSlug('The compensation sweep (`CompensationSweeper`)')).toBe(
      'the-compensation-sweep-compensationsweeper',
    );
    expect(githubSlug('Durability: what "sync flush, two replicas" means here')).toBe(
      'durability-what-sync-flush-two-replicas-means-here',
    );
  });
});
