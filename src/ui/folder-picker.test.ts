import { describe, expect, it } from 'vitest';
import { emptyFolderProblem } from './folder-picker';

describe('emptyFolderProblem', () => {
  it('refuses a folder without files by name, and lets any other through', () => {
    expect(emptyFolderProblem({ name: 'holiday', files: [] })).toBe('"holiday" is empty: there are no files in it to train on. The current dataset stays selected.');
    expect(emptyFolderProblem({ name: 'holiday', files: [{ path: 'a/b.png', file: new Blob([]) }] })).toBeNull();
  });
});
