import { readdirSync } from 'node:fs';
import path from 'node:path';

/** The Markdown files of the documentation: README.md and every `.md` under docs/, relative to `root`. */
export function documentationFiles(root: string): string[] {
  const under = (dir: string): string[] =>
    readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) return under(relative);
      return entry.name.endsWith('.md') ? [relative] : [];
    });
  return ['README.md', ...under('docs').sort()];
}

/** A fenced code block: its language (the word after the fence), its text, and the line of its opening fence. */
export interface CodeBlock {
  readonly language: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The nearest non-blank line before the opening fence (e.g. an HTML comment that marks the block). */
  readonly lineBefore: string;
}

/** The fenced (```) code blocks of a Markdown text, in order. */
export function fencedBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^```(\S*)\s*$/.exec(lines[i] ?? '');
    if (open === null) continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end += 1;
    let before = i - 1;
    while (before >= 0 && (lines[before] ?? '').trim() === '') before -= 1;
    blocks.push({
      language: open[1] ?? '',
      code: `${lines.slice(i + 1, end).join('\n')}\n`,
      line: i + 1,
      lineBefore: before >= 0 ? (lines[before] ?? '').trim() : '',
    });
    i = end;
  }
  return blocks;
}

/** The Markdown text with its fenced code blocks and inline code spans blanked (links in code are not links). */
export function withoutCode(markdown: string): string {
  const lines = markdown.split('\n');
  let inFence = false;
  return lines
    .map((line) => {
      if (line.startsWith('```')) {
        inFence = !inFence;
        return '';
      }
      return inFence ? '' : line.replace(/`[^`]*`/g, (span) => ' '.repeat(span.length));
    })
    .join('\n');
}

/** A link of a Markdown text: its target (path and optional anchor) and its 1-based line. */
export interface MarkdownLink {
  readonly target: string;
  readonly line: number;
}

/** Every inline link `[text](target)` outside code, images included. */
export function markdownLinks(markdown: string): MarkdownLink[] {
  return withoutCode(markdown)
    .split('\n')
    .flatMap((text, index) =>
      [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((match) => ({
        target: match[1] ?? '',
        line: index + 1,
      })),
    );
}

/** GitHub's anchor for a heading's text: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text's headings (outside code blocks), repeated headings numbered as GitHub does. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading === null) continue;
    const slug = githubSlug(heading[1] ?? '');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}
