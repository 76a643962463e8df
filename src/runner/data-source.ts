/** The runner's data in Node: an image folder, or the app's built-in coloured shapes. */
import { loadImageFolder } from '../data/node-folder';
import { shapesDataset } from '../data/shapes';
import type { DatasetSplits } from '../engine/dataset';
import { BUILTIN_SHAPES } from './cli-args';

export interface LoadedData {
  data: DatasetSplits;
  /** What the user should know (skipped files, missing labels), one line each. */
  notes: string[];
}

export function loadData(source: string, imageSize: number): LoadedData {
  if (source === BUILTIN_SHAPES) return { data: shapesDataset({ size: imageSize }), notes: [] };
  const folder = loadImageFolder(source, { imageSize });
  return { data: folder.splits, notes: folder.notes };
}
