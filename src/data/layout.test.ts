import { describe, expect, it } from 'vitest';
import { folderClassOf, planFolder, type FileEntry } from './layout';

const file = (path: string, size = 100): FileEntry => ({ path, size });

describe('planFolder', () => {
  it('uses train/ and test/ as the split and their sub-folders as classes', () => {
    const plan = planFolder([file('cifar/train/cat/0.png'), file('cifar/train/dog/0.png'), file('cifar/train/dog/1.png'), file('cifar/test/cat/0.png'), file('cifar/test/dog/0.png')]);
    expect(plan.layout).toBe('split');
    expect(plan.classNames).toEqual(['cat', 'dog']);
    expect(plan.images.filter((i) => i.split === 'train').map((i) => i.label)).toEqual([0, 1, 1]);
    expect(plan.images.filter((i) => i.split === 'test').map((i) => [i.path, i.label])).toEqual([
      ['test/cat/0.png', 0],
      ['test/dog/0.png', 1],
    ]);
  });

  it('accepts val/ as the held-out split and refuses test classes unknown to train', () => {
    const plan = planFolder([file('train/a/1.png'), file('train/b/1.png'), file('val/a/2.png'), file('val/zebra/3.png')]);
    expect(plan.layout).toBe('split');
    expect(plan.images.filter((i) => i.split === 'test')).toHaveLength(1);
    expect(plan.ignored).toEqual([{ path: 'val/zebra/3.png', reason: 'its class is not in the train split' }]);
  });

  it('labels class sub-folders and holds out about 10% of each class, seeded', () => {
    const files = ['cat', 'dog'].flatMap((c) => Array.from({ length: 20 }, (_, i) => file(`pets/${c}/${i}.jpg`)));
    const plan = planFolder(files, { seed: 3 });
    expect(plan.layout).toBe('classes');
    for (const label of [0, 1]) {
      const ofClass = plan.images.filter((i) => i.label === label);
      expect(ofClass).toHaveLength(20);
      expect(ofClass.filter((i) => i.split === 'test')).toHaveLength(2);
    }
    expect(planFolder(files, { seed: 3 }).images).toEqual(plan.images);
    expect(planFolder(files, { seed: 4 }).images).not.toEqual(plan.images);
  });

  it('treats a flat folder as unlabeled and says why label metrics are hidden', () => {
    const plan = planFolder([file('photos/a.png'), file('photos/b.webp')]);
    expect(plan.layout).toBe('flat');
    expect(plan.images.every((i) => i.label === null && i.split === 'train')).toBe(true);
    expect(plan.notes.join(' ')).toMatch(/No class labels/);
  });

  it('opens a partly labelled folder as flat for labelling: every image for training, unlabelled, its class folders named', () => {
    const files = [file('pets/cat/0.png'), file('pets/cat/1.png'), file('pets/dog/0.png'), file('pets/loose.png'), file('pets/.DS_Store')];
    const plan = planFolder(files, { asFlat: true });
    expect(plan.layout).toBe('flat');
    expect(plan.images.map((i) => [i.path, i.label, i.split])).toEqual([
      ['cat/0.png', null, 'train'],
      ['cat/1.png', null, 'train'],
      ['dog/0.png', null, 'train'],
      ['loose.png', null, 'train'],
    ]);
    expect([plan.classNames, plan.folderClasses]).toEqual([[], ['cat', 'dog']]);
    expect(plan.ignored).toHaveLength(1);
    // Without asFlat the loose image is ignored and some class images are held out.
    expect(planFolder(files).ignored.map((i) => i.path)).toContain('loose.png');
  });

  it('names the class of a file by the folder it sits in, not by a split folder or the picked folder', () => {
    expect(folderClassOf('cat/0.png')).toBe('cat');
    expect(folderClassOf('train/cat/0.png')).toBe('cat');
    expect(folderClassOf('train/0.png')).toBeNull();
    expect(folderClassOf('Validation/0.png')).toBeNull();
    expect(folderClassOf('0.png')).toBeNull();
  });

  it('ignores hidden, system, non-image and empty files, with a reason for each', () => {
    const plan = planFolder([file('d/cat/.DS_Store'), file('d/cat/notes.txt'), file('d/cat/empty.png', 0), file('d/cat/ok.png'), file('d/__MACOSX/cat/x.png'), file('d/dog/ok.gif'), file('d/loose.png')]);
    const reasons = Object.fromEntries(plan.ignored.map((i) => [i.path, i.reason]));
    expect(reasons).toEqual({
      'cat/.DS_Store': 'hidden or system file',
      'cat/notes.txt': 'not an image (unsupported file type)',
      'cat/empty.png': 'empty file (0 bytes)',
      '__MACOSX/cat/x.png': 'hidden or system file',
      'loose.png': 'not inside a class folder',
    });
    expect(plan.images.map((i) => i.path)).toEqual(['cat/ok.png', 'dog/ok.gif']);
  });

  it('turns a single-class folder into an unlabeled one with a note', () => {
    const plan = planFolder([file('x/only/1.png'), file('x/only/2.png')]);
    expect(plan.classNames).toEqual([]);
    expect(plan.images.every((i) => i.label === null && i.split === 'train')).toBe(true);
    expect(plan.notes[0]).toMatch(/Only one class/);
  });

  it('keeps an unlabeled test/ split out of training and says why', () => {
    const plan = planFolder([file('d/train/a.png'), file('d/train/b.png'), file('d/test/c.png')]);
    expect(plan.layout).toBe('split');
    expect(plan.images.map((i) => [i.path, i.label, i.split])).toEqual([
      ['train/a.png', null, 'train'],
      ['train/b.png', null, 'train'],
    ]);
    expect(plan.ignored).toEqual([{ path: 'test/c.png', reason: 'in the test split, which is unused without class labels' }]);
    expect(plan.notes.join(' ')).toMatch(/No class labels/);
  });

  it('points every planned image at its position in the input list', () => {
    const files = [file('x/b/2.png'), file('x/a/1.png'), file('x/a/notes.txt'), file('x/b/1.png')];
    const plan = planFolder(files);
    for (const image of plan.images) expect(files[image.source].path).toBe(`x/${image.path}`);
    expect(plan.images.map((i) => i.source).sort()).toEqual([0, 1, 3]);
  });

  it('reports an empty folder', () => {
    const plan = planFolder([file('x/readme.md')]);
    expect(plan.images).toEqual([]);
    expect(plan.notes.join(' ')).toMatch(/No usable images/);
  });
});
