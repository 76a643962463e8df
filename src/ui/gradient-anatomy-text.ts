/** The words beside the gradient-anatomy charts, shared by the Train tab and Compare (docs/metrics.md says more). */

export const GRADIENT_ANATOMY_EXPLANATION =
  'UniGrad (Tao et al., 2022) shows that contrastive, asymmetric and decorrelation methods all move the normalised ' +
  'embedding u₁ of a view with a gradient of one form, −u₂ + λ·F·u₁: a positive term that pulls u₁ towards the other ' +
  "view's target u₂, and a negative term that pushes it along F, the correlation of the batch's embeddings. Every few " +
  "steps the app takes the real gradient of the method's loss with respect to u₁ and splits it: the positive term " +
  "(along u₂, with the loss's own weight) and the negative term (the rest). BYOL and SimSiam have no negative pairs: " +
  'their negative term is implicit, it comes through the predictor.';

export const GRADIENT_RATIO_EXPLANATION =
  'Mean norm of the negative term over that of the positive: the effective λ, how hard the method pushes for each unit it pulls.';

export const UNIGRAD_COSINE_EXPLANATION =
  "Cosine between the real gradient and UniGrad's form −u₂ + λ·F·u₁ (F the method's own where it keeps one, as UniGrad; " +
  "otherwise from the batch's targets; λ fitted to the batch). Near 1: the method's gradient is UniGrad's.";

export function negativeTermLabel(implicit: boolean): string {
  return implicit ? 'negative (implicit, via the predictor)' : 'negative';
}
