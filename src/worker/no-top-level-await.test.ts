import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/** Every source file the worker may import: all but the UI's, the Node runner's and the tests'. */
function workerSideFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return ['ui', 'runner', 'testing'].includes(entry.name) ? [] : workerSideFiles(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$|\.d\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** Lines of `await` (or `for await`) outside any function. */
function topLevelAwaits(path: string): number[] {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const lines: number[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node)) return;
    if (ts.isAwaitExpression(node) || (ts.isForOfStatement(node) && node.awaitModifier)) lines.push(source.getLineAndCharacterOfPosition(node.getStart()).line + 1);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return lines;
}

describe('the worker’s modules', () => {
  // A module worker whose imports are still settling a top-level await drops the messages that arrive
  // meanwhile: the page's first message was lost now and then, and the worker never started.
  it('have no top-level await', () => {
    const files = workerSideFiles('src');
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((path) => topLevelAwaits(path).map((line) => `${path}:${line}`));
    expect(found).toEqual([]);
  });
});
