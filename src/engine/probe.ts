/**
 * The online linear probe (as solo-learn's online classifier): a linear layer on the backbone
 * features the training step already computed, trained alongside with its own optimizer on the
 * labels. The features are detached — the probe never changes the encoder — and the extra cost
 * is one [batch, D] × [D, classes] product per step.
 */
import * as tf from '@tensorflow/tfjs';
import { LINEAR_PROBE_GRADIENTS } from './fused-metrics';
import { backendHas } from './fused-updates';
import { dense, variables, type Module } from './nn';
import { createOptimizer, type Optimizer } from './optimizers';
import type { Rng } from './random';

/** solo-learn's classifier learning rate, SGD with momentum, no weight decay. */
const PROBE_LEARNING_RATE = 0.1;
const PROBE_MOMENTUM = 0.9;

export class LinearProbe {
  private readonly layer: Module;
  private readonly optimizer: Optimizer;

  constructor(
    readonly featureDim: number,
    readonly numClasses: number,
    rng: Rng,
  ) {
    this.layer = dense('probe', rng, featureDim, numClasses);
    this.optimizer = createOptimizer({ kind: 'sgd', momentum: PROBE_MOMENTUM, weightDecay: 0 }, this.layer.params);
  }

  /**
   * One optimizer step on (features, labels). Returns the batch's cross-entropy and accuracy
   * before the update. Gradients reach only the probe's own weights. Call inside tf.tidy.
   */
  trainStep(features: tf.Tensor2D, labels: tf.Tensor1D): { loss: tf.Scalar; accuracy: tf.Scalar } {
    if (backendHas(LINEAR_PROBE_GRADIENTS)) {
      const [weight, bias] = this.layer.params.map((p) => p.variable);
      const [loss, accuracy, ...grads] = tf.engine().runKernel(LINEAR_PROBE_GRADIENTS, { features, labels: tf.cast(labels, 'int32'), weight, bias }) as tf.Tensor[];
      this.optimizer.step(this.layer.params, grads, PROBE_LEARNING_RATE);
      return { loss: loss as tf.Scalar, accuracy: accuracy as tf.Scalar };
    }
    const targets = tf.oneHot(tf.cast(labels, 'int32'), this.numClasses);
    // A second [batch, D] × [D, classes] product for the accuracy: cheaper than smuggling logits out of the tape.
    const accuracy = tf.mean(tf.equal(this.predict(features), tf.cast(labels, 'int32')).cast('float32')) as tf.Scalar;
    const { value, grads } = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(targets, this.layer.apply(features, true) as tf.Tensor2D) as tf.Scalar,
      variables(this.layer.params),
    );
    this.optimizer.step(this.layer.params, this.layer.params.map((p) => grads[p.variable.name]), PROBE_LEARNING_RATE);
    return { loss: value, accuracy };
  }

  /** The layer's weights then the optimizer's buffers, in a fixed order (checkpoints save these). */
  get variables(): tf.Variable[] {
    return [...this.layer.params.map((p) => p.variable), ...this.optimizer.state];
  }

  /** Updates applied so far (the optimizer's step count). */
  get iterations(): number {
    return this.optimizer.iterations;
  }

  set iterations(value: number) {
    this.optimizer.iterations = value;
  }

  /** Predicted class per row, int32. */
  predict(features: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.argMax(this.layer.apply(features, false), 1) as tf.Tensor1D);
  }

  dispose(): void {
    this.layer.params.forEach((p) => p.variable.dispose());
    this.optimizer.dispose();
  }
}
