import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../tools/paths';

/** The fenced code blocks of a Markdown text, each as it is between its fences. */
function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```[a-z]*\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

const read = (file: string) => readFileSync(path.join(projectRoot, file), 'utf8');

describe("the README's quick start", () => {
  it.each([
    'examples/shop/bin/shopapp.ts',
    'examples/shop/lambda/producer.ts',
    'examples/shop/lambda/consumer.ts',
  ])('fails if the README does not show %s verbatim (the app npm test deploys)', (file) => {
    // GIVEN the README's code blocks and the example's file
    const blocks = codeBlocks(read('README.md'));

    // THEN one block is exactly the file
    expect(blocks).toContain(read(file));
  });

  it('finds a code block exactly, and not a block that differs by one character', () => {
    // GIVEN a Markdown text with a TypeScript block
    const markdown = 'text\n\n```ts\nconst a = 1;\n```\n\nmore\n';

    // THEN the block is found as it is, and another text is not
    expect(codeBlocks(markdown)).toEqual(['const a = 1;\n']);
    expect(codeBlocks(markdown)).not.toContain('const a = 2;\n');
  });
});
