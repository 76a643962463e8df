import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import {
  cycleProblem,
  giveLabel,
  labelCounts,
  labelsCsv,
  labelsForTraining,
  newLabellingProject,
  parseClassNames,
  pendingSuggestions,
  removeLabel,
  renameClasses,
  skipImage,
  withCycle,
  type LabellingProject,
} from './labelling-project';
import { RunsDatabase } from './runs-db';

const thumbnail = (value: number) => new Uint8ClampedArray(2 * 2 * 4).fill(value);

/** A flat folder with classes named and one cycle's three suggestions. */
function project(): LabellingProject {
  const named = renameClasses(newLabellingProject('holiday'), ['cat', 'dog']).project;
  return withCycle(named, { cycle: 1, trainedWith: 0, perClassLabels: [0, 0] }, ['a.png', 'b.png', 'c.png'].map((path, i) => ({ path, pixels: thumbnail(i) })), 2);
}

describe('the label store', () => {
  it('parses class names typed with commas or line breaks', () => {
    expect(parseClassNames(' cat, dog ,\nbird,, ')).toEqual(['cat', 'dog', 'bird']);
    expect(parseClassNames('  ')).toEqual([]);
  });

  it('labels, corrects, skips and removes, saying what changed; a label given twice keeps one label', () => {
    let p = project();
    let step = giveLabel(p, 'a.png', 'cat');
    expect(step.note).toBe('a.png: "cat".');
    p = step.project;
    step = giveLabel(p, 'a.png', 'cat');
    expect(step.note).toBe('a.png is already labelled "cat".');
    expect(step.project).toBe(p);
    step = giveLabel(p, 'a.png', 'dog');
    expect(step.note).toBe('a.png: was "cat", now "dog".');
    p = step.project;
    expect(p.labels).toEqual({ 'a.png': 'dog' });
    expect(giveLabel(p, 'b.png', 'horse').note).toBe('"horse" is not one of the classes (cat, dog).');
    p = skipImage(p, 'b.png').project;
    expect(pendingSuggestions(p).map((s) => s.path)).toEqual(['c.png']);
    // Labelling a skipped image un-skips it.
    p = giveLabel(p, 'b.png', 'cat').project;
    expect(p.skipped).toEqual([]);
    expect(labelCounts(p)).toEqual([1, 1]);
    expect(labelsForTraining(p)).toEqual([
      { path: 'a.png', label: 1 },
      { path: 'b.png', label: 0 },
    ]);
    const removed = removeLabel(p, 'b.png');
    expect(removed.note).toBe('b.png: label "cat" removed; it is unlabelled again.');
    expect(removed.project.labels).toEqual({ 'a.png': 'dog' });
  });

  it('refuses to remove a class that still has labels, or to name one twice, and needs two classes for a cycle', () => {
    const p = giveLabel(giveLabel(project(), 'a.png', 'cat').project, 'b.png', 'cat').project;
    const refused = renameClasses(p, ['dog', 'bird']);
    expect(refused.problem).toBe('2 images labelled "cat": relabel or remove them before removing the class, so no label is lost.');
    expect(refused.project).toBe(p);
    expect(renameClasses(p, ['cat', 'dog', 'cat']).problem).toBe('"cat" is named twice; give each class its own name.');
    expect(renameClasses(p, ['cat', 'dog', 'bird']).project.classNames).toEqual(['cat', 'dog', 'bird']);
    expect(cycleProblem(newLabellingProject('flat'))).toContain('Name at least two classes first');
    expect(cycleProblem(p)).toBeNull();
  });

  it('writes the labels as CSV, quoting paths that need it', () => {
    let p = renameClasses(newLabellingProject('x'), ['cat', 'big, "fluffy" dog']).project;
    p = giveLabel(p, 'plain/a.png', 'cat').project;
    p = giveLabel(p, 'odd, name.png', 'big, "fluffy" dog').project;
    expect(labelsCsv(p)).toBe('path,label\nplain/a.png,cat\n"odd, name.png","big, ""fluffy"" dog"\n');
    expect(labelsCsv(newLabellingProject('empty'))).toBe('path,label\n');
  });

  it('keeps the labels, skips and suggestions in IndexedDB across a reload in the middle of labelling', async () => {
    const factory = new IDBFactory();
    let p = project();
    p = giveLabel(p, 'a.png', 'cat').project;
    p = skipImage(p, 'b.png').project;
    const db = await RunsDatabase.open({ factory });
    await db.putLabelling(p);
    // A correction is saved over the first label, not beside it.
    p = giveLabel(p, 'a.png', 'dog').project;
    await db.putLabelling(p);
    db.close();

    const reopened = await RunsDatabase.open({ factory });
    const restored = await reopened.getLabelling('holiday');
    expect(restored?.labels).toEqual({ 'a.png': 'dog' });
    expect(restored?.classNames).toEqual(['cat', 'dog']);
    expect(restored?.skipped).toEqual(['b.png']);
    expect(pendingSuggestions(restored!).map((s) => s.path)).toEqual(['c.png']);
    expect(Array.from(restored!.suggestions[2].pixels)).toEqual(Array.from(thumbnail(2)));
    expect((await reopened.latestLabelling())?.id).toBe('holiday');
    expect(await reopened.getLabelling('another folder')).toBeNull();
    reopened.close();
  });

  it('upgrades a database of saved runs without touching them', async () => {
    const factory = new IDBFactory();
    await new Promise<void>((resolve, reject) => {
      const open = factory.open('siamese-playground', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('runs', { keyPath: 'id' }).put({ id: 'old', note: 'kept' });
      open.onsuccess = () => {
        open.result.close();
        resolve();
      };
      open.onerror = () => reject(open.error);
    });
    const db = await RunsDatabase.open({ factory });
    expect(await db.latestLabelling()).toBeNull();
    await db.putLabelling(project());
    expect((await db.latestLabelling())?.suggestions).toHaveLength(3);
    const raw = await new Promise((resolve) => {
      const request = (db as unknown as { db: IDBDatabase }).db.transaction('runs').objectStore('runs').get('old');
      request.onsuccess = () => resolve(request.result);
    });
    expect(raw).toEqual({ id: 'old', note: 'kept' });
    db.close();
  });
});
