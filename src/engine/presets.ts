/**
 * Named encoder sizes. Plain data with no tfjs import, so the UI can list them without pulling
 * the engine into the page.
 */
export type BackboneConfig =
  | { kind: 'convnet'; widths: readonly number[] }
  | { kind: 'resnet'; widths: readonly number[]; blocks: readonly number[] };

export const BACKBONE_PRESETS = {
  'convnet-tiny': { kind: 'convnet', widths: [16, 32, 32, 32] },
  'convnet-small': { kind: 'convnet', widths: [32, 64, 128, 128] },
  'resnet-8': { kind: 'resnet', widths: [16, 32, 64], blocks: [1, 1, 1] },
  'resnet-18': { kind: 'resnet', widths: [64, 128, 256, 512], blocks: [2, 2, 2, 2] },
} as const satisfies Record<string, BackboneConfig>;

export type BackbonePreset = keyof typeof BACKBONE_PRESETS;

export const BACKBONE_LABELS: Record<BackbonePreset, string> = {
  'convnet-tiny': 'Tiny ConvNet (4 layers, fastest)',
  'convnet-small': 'Small ConvNet (4 layers)',
  'resnet-8': 'ResNet-8 (CIFAR stem)',
  'resnet-18': 'ResNet-18 (CIFAR stem, reference)',
};

/** The preset a backbone config came from, or null for a custom one. */
export function backbonePresetOf(config: BackboneConfig): BackbonePreset | null {
  const key = JSON.stringify(config);
  return (Object.keys(BACKBONE_PRESETS) as BackbonePreset[]).find((name) => JSON.stringify(BACKBONE_PRESETS[name]) === key) ?? null;
}
