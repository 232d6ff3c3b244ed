// Trains the router's two linear classifiers (intent, complexity) on the dev set's training
// split plus our own examples, with AdaGrad on the softmax loss, then writes them quantized to
// supabase/functions/_shared/router/weights.json. Deterministic (seeded shuffles).
//
// deno run -A scripts/router/train.ts [--epochs 40]

import { parseArgs } from "node:util";
import { join, resolve } from "node:path";
import { DIM, extractFeatures, type Features } from "../../supabase/functions/_shared/router/features.ts";
import {
  COMPLEXITY_LABELS,
  constrainIntent,
  decode,
  INTENT_LABELS,
  type SerializedHead,
  softmaxScores,
} from "../../supabase/functions/_shared/router/model.ts";
import { heldOutItems, type LabeledItem, trainingItems } from "./data.ts";

const ROOT = resolve(new URL("../..", import.meta.url).pathname);
const OUT = join(ROOT, "supabase/functions/_shared/router/weights.json");
const { values } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string", default: "20" },
    l2: { type: "string", default: "0.0002" },
    // 5-fold cross-validation on the training data only: how hyperparameters are chosen,
    // without looking at the held-out split
    cv: { type: "boolean", default: false },
  },
});
const EPOCHS = Number(values.epochs);
const L2 = Number(values.l2);
const LEARNING_RATE = 0.5;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function train(examples: { x: Features; y: number }[], labels: readonly string[]): SerializedHead {
  const C = labels.length;
  const w = new Float32Array(C * DIM);
  const g = new Float32Array(C * DIM).fill(1e-8);
  const b = new Float64Array(C);
  const gb = new Float64Array(C).fill(1e-8);
  const random = rng(42);
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const idx of order) {
      const { x, y } = examples[idx];
      const scores = Array.from(b);
      const { buckets, values } = x;
      for (let i = 0; i < buckets.length; i++) {
        for (let c = 0; c < C; c++) scores[c] += w[c * DIM + buckets[i]] * values[i];
      }
      const max = Math.max(...scores);
      const exp = scores.map((s) => Math.exp(s - max));
      const sum = exp.reduce((a, e) => a + e, 0);
      for (let c = 0; c < C; c++) {
        const err = exp[c] / sum - (c === y ? 1 : 0);
        gb[c] += err * err;
        b[c] -= (LEARNING_RATE / Math.sqrt(gb[c])) * err;
        for (let i = 0; i < buckets.length; i++) {
          const at = c * DIM + buckets[i];
          const grad = err * values[i] + L2 * w[at];
          g[at] += grad * grad;
          w[at] -= (LEARNING_RATE / Math.sqrt(g[at])) * grad;
        }
      }
    }
  }
  // int8 per class: weight ≈ int8 × scale
  const scales: number[] = [];
  const int8 = new Int8Array(C * DIM);
  for (let c = 0; c < C; c++) {
    let max = 0;
    for (let i = 0; i < DIM; i++) max = Math.max(max, Math.abs(w[c * DIM + i]));
    const scale = max / 127 || 1;
    scales.push(scale);
    for (let i = 0; i < DIM; i++) int8[c * DIM + i] = Math.round(w[c * DIM + i] / scale);
  }
  let binary = "";
  const bytes = new Uint8Array(int8.buffer);
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return { labels: [...labels], dim: DIM, bias: Array.from(b), scales, weights: btoa(binary) };
}

const hasImage = (item: LabeledItem) =>
  (item.attachments ?? []).some((a) => a.type === "image" || a.mimeType?.startsWith("image/"));
const argmax = (p: number[]) => p.indexOf(Math.max(...p));

function macroF1(gold: string[], predicted: string[], labels: readonly string[]): number {
  const f1s = labels.filter((l) => gold.includes(l)).map((l) => {
    const tp = gold.filter((g, i) => g === l && predicted[i] === l).length;
    const fp = predicted.filter((p, i) => p === l && gold[i] !== l).length;
    const fn = gold.filter((g, i) => g === l && predicted[i] !== l).length;
    const p = tp / (tp + fp || 1);
    const r = tp / (tp + fn || 1);
    return p + r ? (2 * p * r) / (p + r) : 0;
  });
  return f1s.reduce((a, b) => a + b, 0) / f1s.length;
}

const items = trainingItems();
const featurize = (item: LabeledItem) =>
  extractFeatures({ messages: item.messages, attachments: item.attachments });
const intentExamples = items.map((item) => ({
  x: featurize(item),
  y: INTENT_LABELS.indexOf(item.intent as never),
}));
const complexityExamples = items.filter((item) => item.complexity).map((item) => ({
  x: featurize(item),
  y: COMPLEXITY_LABELS.indexOf(item.complexity as never),
}));
if (intentExamples.some((e) => e.y < 0) || complexityExamples.some((e) => e.y < 0)) {
  throw new Error("unknown label in training data");
}

if (values.cv) {
  const folds = 5;
  const scores: number[] = [];
  for (let f = 0; f < folds; f++) {
    const train_ = intentExamples.filter((_, i) => i % folds !== f);
    const test = items.filter((_, i) => i % folds === f);
    const head = decode(train(train_, INTENT_LABELS));
    const predicted = test.map((item) =>
      INTENT_LABELS[argmax(constrainIntent(softmaxScores(head, featurize(item)), hasImage(item)))]
    );
    scores.push(macroF1(test.map((t) => t.intent), predicted, INTENT_LABELS));
  }
  console.log(
    JSON.stringify({
      epochs: EPOCHS,
      l2: L2,
      cvMacroF1: Math.round((scores.reduce((a, b) => a + b) / folds) * 1000) / 1000,
    }),
  );
  Deno.exit(0);
}

const started = performance.now();
const intent = train(intentExamples, INTENT_LABELS);
const complexity = train(complexityExamples, COMPLEXITY_LABELS);
const held = heldOutItems();
await Deno.writeTextFile(
  OUT,
  JSON.stringify({ version: 1, trainedOn: items.length, intent, complexity }) + "\n",
);

// What the shipped (quantized) model does on the held-out split.
const heads = { intent: decode(intent), complexity: decode(complexity) };
const pick = (p: number[], labels: readonly string[]) => labels[p.indexOf(Math.max(...p))];

const predictedIntent = held.map((item) =>
  pick(constrainIntent(softmaxScores(heads.intent, featurize(item)), hasImage(item)), INTENT_LABELS)
);
const predictedComplexity = held.map((item) =>
  pick(softmaxScores(heads.complexity, featurize(item)), COMPLEXITY_LABELS)
);
const accuracy = predictedIntent.filter((p, i) => p === held[i].intent).length / held.length;
const complexityAccuracy = predictedComplexity.filter((p, i) => p === held[i].complexity).length /
  held.length;
console.log(JSON.stringify({
  trainedOn: items.length,
  heldOut: held.length,
  seconds: Math.round((performance.now() - started) / 100) / 10,
  accuracy: Math.round(accuracy * 1000) / 1000,
  macroF1: Math.round(macroF1(held.map((h) => h.intent), predictedIntent, INTENT_LABELS) * 1000) / 1000,
  complexityAccuracy: Math.round(complexityAccuracy * 1000) / 1000,
  bytes: (await Deno.stat(OUT)).size,
}));
