/**
 * Decides what a picked folder means, from file paths alone (no decoding): which files are images,
 * whether sub-folders are classes, and which images are held out for evaluation. Pure, so the
 * browser, the headless runner and the tests share it.
 */
import { Rng } from '../engine/random';

export interface FileEntry {
  /** Path relative to the picked folder, '/'-separated (a webkitRelativePath-style root is stripped). */
  path: string;
  size: number;
}

export type Split = 'train' | 'test';
export type FolderLayout = 'split' | 'classes' | 'flat';

export interface PlannedImage {
  path: string;
  /** Position of this file in the list given to planFolder, so callers find its bytes. */
  source: number;
  label: number | null;
  split: Split;
}

export interface IgnoredFile {
  path: string;
  reason: string;
}

export interface FolderPlan {
  layout: FolderLayout;
  classNames: string[];
  images: PlannedImage[];
  ignored: IgnoredFile[];
  /** Things the user should know, e.g. why label-based metrics are hidden. */
  notes: string[];
  /** Opened as flat (asFlat): the class folders its images sit in (folderClassOf); empty otherwise. */
  folderClasses: string[];
}

export const IMAGE_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp'];
const TRAIN_NAMES = ['train', 'training'];
const TEST_NAMES = ['test', 'val', 'valid', 'validation'];
const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini', '__macosx']);

function extension(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

function skipReason(file: FileEntry, segments: string[]): string | null {
  if (segments.some((s) => s.startsWith('.') || SYSTEM_FILES.has(s.toLowerCase()))) return 'hidden or system file';
  if (!IMAGE_EXTENSIONS.includes(extension(file.path))) return 'not an image (unsupported file type)';
  if (file.size === 0) return 'empty file (0 bytes)';
  return null;
}

/** Drops the picked folder's own name when every path starts with it (as webkitdirectory reports). */
function stripCommonRoot(files: FileEntry[]): FileEntry[] {
  const firsts = new Set(files.map((f) => f.path.split('/')[0]));
  const allNested = files.every((f) => f.path.includes('/'));
  if (firsts.size !== 1 || !allNested) return files;
  return files.map((f) => ({ ...f, path: f.path.slice(f.path.indexOf('/') + 1) }));
}

/** Seeded stratified hold-out: about `fraction` of each class (at least one where a class has two or more). */
function holdOut(images: PlannedImage[], fraction: number, seed: number): void {
  const rng = new Rng(seed);
  const byClass = new Map<number, PlannedImage[]>();
  for (const image of images) {
    const key = image.label ?? -1;
    byClass.set(key, [...(byClass.get(key) ?? []), image]);
  }
  for (const members of byClass.values()) {
    if (members.length < 2) continue;
    const count = Math.min(members.length - 1, Math.max(1, Math.round(members.length * fraction)));
    const order = rng.permutation(members.length);
    for (let i = 0; i < count; i++) members[order[i]].split = 'test';
  }
}

/**
 * The class a file's folder names: the folder it sits in, unless that is the picked folder itself or a
 * train/test split folder. Labelling a partly labelled folder counts its class folders' images as labelled.
 */
export function folderClassOf(path: string): string | null {
  const segments = path.split('/').filter(Boolean);
  if (segments.length < 2) return null;
  const parent = segments[segments.length - 2];
  return [...TRAIN_NAMES, ...TEST_NAMES].includes(parent.toLowerCase()) ? null : parent;
}

/**
 * `asFlat`: every image, wherever it sits, is an unlabelled training image (no hold-out), and
 * folderClasses lists its class folders (folderClassOf): how the labelling mode opens a folder, whose
 * loose images and class folders' images are all to be shown and suggested.
 */
export function planFolder(allFiles: FileEntry[], options: { holdOutFraction?: number; seed?: number; asFlat?: boolean } = {}): FolderPlan {
  const { holdOutFraction = 0.1, seed = 0, asFlat = false } = options;
  const ignored: IgnoredFile[] = [];
  const notes: string[] = [];
  const usable: { path: string; segments: string[]; source: number }[] = [];
  stripCommonRoot(allFiles).forEach((file, source) => {
    const segments = file.path.split('/').filter(Boolean);
    const reason = skipReason(file, segments);
    if (reason) ignored.push({ path: file.path, reason });
    else usable.push({ path: file.path, segments, source });
  });
  usable.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (asFlat) {
    const images = usable.map((f) => ({ path: f.path, source: f.source, label: null, split: 'train' as Split }));
    const folderClasses = [...new Set(usable.map((f) => folderClassOf(f.path)).filter((name): name is string => name !== null))].sort();
    return { layout: 'flat', classNames: [], images, ignored, notes: images.length === 0 ? ['No usable images were found in this folder.'] : [], folderClasses };
  }

  const topFolders = new Set(usable.filter((f) => f.segments.length > 1).map((f) => f.segments[0].toLowerCase()));
  const trainFolder = TRAIN_NAMES.find((n) => topFolders.has(n));
  const testFolder = TEST_NAMES.find((n) => topFolders.has(n));

  let layout: FolderLayout;
  let images: PlannedImage[];
  let classNames: string[];
  if (trainFolder && testFolder) {
    layout = 'split';
    const within = (name: string) => usable.filter((f) => f.segments.length > 1 && f.segments[0].toLowerCase() === name).map((f) => ({ ...f, segments: f.segments.slice(1) }));
    const train = within(trainFolder);
    const test = within(testFolder);
    const labelled = train.length > 0 && train.every((f) => f.segments.length > 1);
    classNames = labelled ? [...new Set(train.map((f) => f.segments[0]))].sort() : [];
    const labelOf = (f: { segments: string[] }) => (labelled ? classNames.indexOf(f.segments[0]) : null);
    images = train.map((f) => ({ path: f.path, source: f.source, label: labelOf(f), split: 'train' as Split }));
    for (const f of test) {
      const label = labelOf(f);
      if (label === -1 || (labelled && f.segments.length < 2)) ignored.push({ path: f.path, reason: 'its class is not in the train split' });
      else images.push({ path: f.path, source: f.source, label, split: 'test' });
    }
    for (const f of usable) {
      if (f.segments.length === 1 || ![trainFolder, testFolder].includes(f.segments[0].toLowerCase())) {
        ignored.push({ path: f.path, reason: 'outside the train and test folders' });
      }
    }
  } else {
    const nested = usable.filter((f) => f.segments.length > 1);
    if (nested.length > 0) {
      layout = 'classes';
      classNames = [...new Set(nested.map((f) => f.segments[0]))].sort();
      images = nested.map((f) => ({ path: f.path, source: f.source, label: classNames.indexOf(f.segments[0]), split: 'train' as Split }));
      for (const f of usable) if (f.segments.length === 1) ignored.push({ path: f.path, reason: 'not inside a class folder' });
      holdOut(images, holdOutFraction, seed);
    } else {
      layout = 'flat';
      classNames = [];
      images = usable.map((f) => ({ path: f.path, source: f.source, label: null, split: 'train' as Split }));
    }
  }

  if (classNames.length === 1) {
    notes.push(`Only one class ("${classNames[0]}"): accuracy against a single label means nothing, so label-based metrics are hidden. Training works.`);
    classNames = [];
    images = images.map((image) => ({ ...image, label: null }));
  }
  if (classNames.length === 0) {
    notes.push('No class labels: training works, but kNN accuracy and other label-based metrics are hidden. Put images in one sub-folder per class to get them.');
    if (layout === 'split') {
      // The folder asks to keep test/ out of training; without labels there is nothing to evaluate on it.
      for (const image of images) if (image.split === 'test') ignored.push({ path: image.path, reason: 'in the test split, which is unused without class labels' });
      images = images.filter((image) => image.split === 'train');
    } else {
      images = images.map((image) => ({ ...image, split: 'train' }));
    }
  }
  if (images.length === 0) notes.push('No usable images were found in this folder.');
  return { layout, classNames, images, ignored, notes, folderClasses: [] };
}
