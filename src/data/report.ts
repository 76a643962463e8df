/** What the user is told about a loaded dataset: shared by the worker, the UI and the loaders. */
import type { FolderLayout, IgnoredFile } from './layout';

export interface SkippedFile extends IgnoredFile {
  /** Specifics beyond the reason, e.g. the size of an image too large to decode. */
  detail?: string;
}

export interface DatasetReport {
  name: string;
  origin: 'builtin' | 'folder';
  layout: FolderLayout | 'builtin';
  /** Side of the stored square images, in pixels. */
  imageSize: number;
  trainCount: number;
  /** Held out for kNN evaluation; 0 without labels. */
  testCount: number;
  classNames: string[];
  /** A folder opened as flat for labelling: its class folders, whose images start out labelled (none otherwise). */
  folderClasses?: string[];
  /** Images per class, train and held-out together; empty without labels. */
  classCounts: number[];
  skipped: SkippedFile[];
  notes: string[];
  /** Wall time to produce the images (decoding, generating or fetching). */
  milliseconds: number;
  /** Bytes of uint8 pixels the worker holds for this dataset. */
  bytes: number;
}
