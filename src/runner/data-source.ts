/** The runner's data in Node: an image folder, or one of the app's built-in sets (coloured shapes, shape silhouettes, MNIST digits). */
import { mnistDataset, parseMnistAsset } from '../data/mnist';
import { loadImageFolder } from '../data/node-folder';
import { buildMnistAsset } from '../../scripts/mnist-asset';
import { shapesDataset } from '../data/shapes';
import { silhouettesDataset } from '../data/silhouettes';
import type { DatasetSplits } from '../engine/dataset';
import { BUILTIN_MNIST, BUILTIN_SHAPES, BUILTIN_SILHOUETTES } from './cli-args';

export interface LoadedData {
  data: DatasetSplits;
  /** What the user should know (skipped files, missing labels), one line each. */
  notes: string[];
}

export function loadData(source: string, imageSize: number): LoadedData {
  if (source === BUILTIN_SHAPES) return { data: shapesDataset({ size: imageSize }), notes: [] };
  if (source === BUILTIN_SILHOUETTES) return { data: silhouettesDataset({ size: imageSize }), notes: [] };
  // The same digits and split the app serves, packed by the same build step.
  if (source === BUILTIN_MNIST) return { data: mnistDataset(parseMnistAsset(buildMnistAsset()), imageSize), notes: [] };
  const folder = loadImageFolder(source, { imageSize });
  return { data: folder.splits, notes: folder.notes };
}
