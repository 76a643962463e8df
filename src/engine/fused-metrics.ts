/**
 * Fused metrics: kernels a backend may register (webgpu-metrics.ts does for WebGPU) so that a step's
 * representation statistics take a few dispatches where their composites (metrics.ts) take a chain of
 * small kernels and mask uploads. metrics.ts's `embeddingStatistics` uses the kernel where the current
 * backend registers it (`backendHas`) and the composites elsewhere; the composites stay the definition.
 *
 * EMBEDDING_STATISTICS: inputs { z1, z2 } float32 [n, d] (n ≥ 2), no attrs → float32 [5], in the order of
 *   EmbeddingStatistic: featureStd(z1), alignment(z1, z2), uniformity(z1), and the mean cosine of the
 *   matched pairs (i, i) and of the others (i ≠ j) across the views — each as metrics.ts defines it
 *   (rows L2-normalised with the same floor, unbiased std, log-sum-exp over the pairs i < j minus
 *   log(#pairs)). Not differentiable: metrics are read, never trained on.
 */
export const EMBEDDING_STATISTICS = 'SiameseEmbeddingStatistics';

/** The outputs of EMBEDDING_STATISTICS, by position. */
export const EMBEDDING_STATISTICS_ORDER = ['featureStd', 'alignment', 'uniformity', 'positiveCosine', 'negativeCosine'] as const;
export type EmbeddingStatistic = (typeof EMBEDDING_STATISTICS_ORDER)[number];
