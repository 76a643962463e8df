/**
 * Fused metrics: kernels a backend may register (webgpu-metrics.ts does for WebGPU) so that a step's
 * metrics phase (the representation statistics, the online probe's step) takes a few dispatches where
 * its composites (metrics.ts, probe.ts) take chains of small kernels and mask uploads. metrics.ts's
 * `embeddingStatistics` and LinearProbe.trainStep use each where the current backend registers it
 * (`backendHas`) and the composites elsewhere; the composites stay the definition.
 *
 * EMBEDDING_STATISTICS: inputs { z1, z2 } float32 [n, d] (n ≥ 2), no attrs → float32 [5], in the order of
 *   EMBEDDING_STATISTICS_ORDER: featureStd(z1), alignment(z1, z2), uniformity(z1), and the mean cosine of the
 *   matched pairs (i, i) and of the others (i ≠ j) across the views — each as metrics.ts defines it
 *   (rows L2-normalised with the same floor, unbiased std, log-sum-exp over the pairs i < j minus
 *   log(#pairs)). Not differentiable: metrics are read, never trained on.
 * LINEAR_PROBE_GRADIENTS (probe.ts's online probe, a dense layer under softmax cross-entropy): inputs
 *   { features [n, D], labels int32 [n], weight [D, C], bias [C] } → [loss, accuracy, ∂loss/∂weight,
 *   ∂loss/∂bias]: the mean cross-entropy of the logits features · weight + bias, the share of rows whose
 *   first largest logit is their label (scalars), and the gradients, (softmax − one-hot) / n carried
 *   back through the layer. The probe's optimizer then applies them as it would tf.variableGrads'.
 */
export const EMBEDDING_STATISTICS = 'SiameseEmbeddingStatistics';
export const LINEAR_PROBE_GRADIENTS = 'SiameseLinearProbeGradients';

/** The outputs of EMBEDDING_STATISTICS, by position. */
export const EMBEDDING_STATISTICS_ORDER = ['featureStd', 'alignment', 'uniformity', 'positiveCosine', 'negativeCosine'] as const;
