/** The exported PyTorch project's Python sources and README, bundled into the worker as text. */
import type { PytorchSources } from '../engine/pytorch-export';
import siameseTorchPy from '../../scripts/siamese_torch.py?raw';
import readme from '../../scripts/pytorch_project/README.md?raw';
import trainPy from '../../scripts/pytorch_project/train.py?raw';

export const PYTORCH_SOURCES: PytorchSources = { trainPy, siameseTorchPy, readme };
