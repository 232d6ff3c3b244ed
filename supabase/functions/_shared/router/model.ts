// The router's classifiers: two linear softmax models (intent, complexity) over the hashed
// features, trained offline by scripts/router/train.ts. Weights ship as int8 per class with a
// scale, base64 in weights.json, decoded once per function instance.

import type { Features } from "./features.ts";
import weights from "./weights.json" with { type: "json" };

export const INTENT_LABELS = [
  "general",
  "code",
  "math",
  "reasoning",
  "creative",
  "analysis",
  "research",
  "vision",
  "image_generation",
] as const;
export const COMPLEXITY_LABELS = ["low", "medium", "high"] as const;

export type RouterIntent = typeof INTENT_LABELS[number];
export type Complexity = typeof COMPLEXITY_LABELS[number];

export interface SerializedHead {
  labels: string[];
  dim: number;
  bias: number[];
  /** per class: weight = int8 × scale */
  scales: number[];
  weights: string; // base64 of Int8Array(labels × dim), class-major
}

export interface LinearHead {
  labels: readonly string[];
  dim: number;
  bias: Float64Array;
  weights: Float32Array[];
}

export function decode(head: SerializedHead): LinearHead {
  const raw = Uint8Array.from(atob(head.weights), (c) => c.charCodeAt(0));
  const int8 = new Int8Array(raw.buffer);
  return {
    labels: head.labels,
    dim: head.dim,
    bias: Float64Array.from(head.bias),
    weights: head.labels.map((_, c) => {
      const w = new Float32Array(head.dim);
      for (let i = 0; i < head.dim; i++) w[i] = int8[c * head.dim + i] * head.scales[c];
      return w;
    }),
  };
}

export function softmaxScores(head: LinearHead, x: Features): number[] {
  const scores = Array.from(head.bias);
  const { buckets, values } = x;
  for (let c = 0; c < scores.length; c++) {
    const w = head.weights[c];
    let sum = scores[c];
    for (let i = 0; i < buckets.length; i++) sum += w[buckets[i]] * values[i];
    scores[c] = sum;
  }
  const max = Math.max(...scores);
  const exp = scores.map((s) => Math.exp(s - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}

const argmax = (p: number[]) => p.reduce((best, v, i) => (v > p[best] ? i : best), 0);

let heads: { intent: LinearHead; complexity: LinearHead } | undefined;

function loaded() {
  heads ??= {
    intent: decode(weights.intent as SerializedHead),
    complexity: decode(weights.complexity as SerializedHead),
  };
  return heads;
}

/**
 * Intents the request's structure already rules in or out: `vision` needs an attached image,
 * and with an image attached the request is about it (vision) or an edit of it (image
 * generation). Applied to the classifier's probabilities, renormalized.
 */
export function constrainIntent(probabilities: number[], hasImage: boolean): number[] {
  const allowed = (label: string) =>
    hasImage ? label === "vision" || label === "image_generation" : label !== "vision";
  const masked = probabilities.map((p, i) => (allowed(INTENT_LABELS[i]) ? p : 0));
  const sum = masked.reduce((a, b) => a + b, 0) || 1;
  return masked.map((p) => p / sum);
}

export interface Classification {
  intent: RouterIntent;
  complexity: Complexity;
  intentProbability: number;
  /** The next most likely intent (what a doubtful reading falls back to). */
  runnerUp: RouterIntent;
}

export function classify(x: Features, hasImage: boolean): Classification {
  const { intent, complexity } = loaded();
  const pi = constrainIntent(softmaxScores(intent, x), hasImage);
  const pc = softmaxScores(complexity, x);
  const i = argmax(pi);
  const second = argmax(pi.map((p, j) => (j === i ? -1 : p)));
  return {
    intent: intent.labels[i] as RouterIntent,
    complexity: complexity.labels[argmax(pc)] as Complexity,
    intentProbability: pi[i],
    runnerUp: intent.labels[second] as RouterIntent,
  };
}
