// What the router's classifier sees: hashed word unigrams and bigrams and character 3/4-grams of
// the last user turn (so it reads any language and survives typos), a few words of the earlier
// turns, and hand-written features (code fences, LaTeX, URLs, recency words, attachments,
// length). Feature names are hashed into DIM buckets (FNV-1a); the vector is L2-normalized so
// a long prompt does not outvote a short one.

import type { ChatMessage } from "../providers/types.ts";

export const DIM = 1 << 15;

export interface Attachment {
  type: string;
  mimeType?: string;
  name?: string;
}

export interface RouterInput {
  messages: ChatMessage[];
  attachments?: Attachment[];
}

/** Sparse feature vector: bucket → value. */
export type Features = Map<number, number>;

// The last turn can be a pasted book: its head and tail carry the instruction.
const HEAD_CHARS = 4000;
const TAIL_CHARS = 2000;

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const WORD = /[\p{L}\p{M}\p{N}_]+/gu;
const RECENCY =
  /\b(latest|newest|current(ly)?|today|tonight|yesterday|this (week|month|year)|right now|recent(ly)?|news|breaking|live|score|price|stock|release[sd]?|update[sd]?|20[2-3]\d)\b/i;
const HAND: [string, RegExp][] = [
  ["code_fence", /```/],
  ["inline_code", /`[^`\n]+`/],
  ["code_syntax", /[{};]\s*$|=>|\bdef |\bfunction\b|\breturn\b|#include|\bSELECT\b|\bimport\b/m],
  ["latex", /\\(frac|sum|int|sqrt|begin|mathbb|cdot|alpha|beta|theta)|\$[^$\n]+\$/],
  ["math_ops", /\d\s*[-+*/^=×÷]\s*\d|[∫∑√π≤≥≠]/],
  ["url", /https?:\/\/\S+/],
  ["recency", RECENCY],
  ["question", /\?\s*$/],
  ["imperative_make", /^(write|create|make|draw|generate|design|compose|build|paint|render)\b/i],
  [
    "image_words",
    /\b(image|picture|photo|illustration|logo|icon|drawing|painting|poster|wallpaper|render)\b/i,
  ],
  ["cjk", /[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]/],
  ["non_latin", /[^\u0000-\u024f\s\p{P}\p{N}]/u],
];

// Cue words per intent, in several languages: with a few hundred examples per intent, these
// carry what the data alone is too small to teach (each is a feature, weighed by training).
// Words match at a word start (prefixes allowed); CJK cues match anywhere (no spaces there).
const CUE_WORDS: Record<string, string> = {
  code:
    "code|function|bug|error|exception|stack trace|traceback|compile|python|javascript|typescript|java|rust|golang|sql|regex|api|script|refactor|unit test|class|method|variable|docker|kubernetes|bash|git|npm|endpoint|debug|kernel|query|código|codigo|fonction|funktion|funzione|программ|функци||代码|函数|程序|编程|コード|関数|プログラム|코드|함수|파이썬",
  math:
    "solve|equation|integral|derivative|probability|prove|proof|theorem|matrix|eigen|calculate|compute|percent|average|median|variance|standard deviation|statistic|geometry|triangle|algebra|limit|series|area of|volume of|binary|decimal|resuelve|ecuación|calcula|probabilidad|berechne|gleichung|calcule|équation|calcola|equazione|уравнени|вычисл|найдите все|функци|||方程|计算|概率|证明|求解|計算|確率|証明|확률|방정식|계산",
  reasoning:
    "puzzle|riddle|logic|deduce|should i|should we|which option|trade-off|tradeoff|decide|decision|plan|schedule|strategy|pros and cons|who is lying|liar|knight|dilemma|prioriti|heavier|acertijo|rätsel|énigme|enigma|головоломк|||谜|推理|说谎|谁说|パズル|推理|수수께끼|추론",
  creative:
    "poem|story|haiku|lyrics|song|slogan|tagline|ad copy|jingle|limerick|sonnet|fiction|character|role-play|roleplay|pretend|names for|brainstorm|joke|npc|tavern|love letter|noir|rewrite .* as|poema|cuento|historia|chiste|gedicht|geschichte|witz|poème|histoire|blague|poesia|racconto|grap|стихотворени|рассказ|шутк|||诗|故事|笑话|詩|物語|冗談|시를|이야기|농담",
  analysis:
    "summari|summary|tl;dr|tldr|translate|translation|rewrite|rephrase|proofread|fix the grammar|grammar|edit|extract|classify|compare|key points|bullet|paraphrase|simplify|this text|this article|this email|this document|this paragraph|this passage|transcript|in one sentence|resum|traduc|tradu|übersetz|zusammenfass|riassum|переведи|перевод|кратко||||翻译|翻譯|总结|摘要|訳して|翻訳|要約|번역|요약",
  research:
    "latest|newest|current|today|tonight|tomorrow|this week|this weekend|this month|right now|recent|news|score|stock price|price of|exchange rate|release|announced|election|weather|who won|last night|sources|cite|up-to-date|flights|concerts|aktuell|heute|morgen|neueste|hoy|mañana|último|dernier|aujourd|oggi|ultim|hoje|cotação|semana|hafta|bu hafta|сегодня|завтра|последн|новост|||最新|今天|今日|本周|明日|오늘|최신|이번 주",
  image_generation:
    "draw|paint|sketch|illustrate|pixel art|generate an image|generate a picture|create an image|create a picture|create a logo|make an image|make a logo|render|wallpaper|dibuja|zeichne|dessine|disegna|нарисуй|||画一|生成一张|生成图|描いて|画像を生成|그려",
  general:
    "what is|what's|who was|who wrote|why do|why does|how does|explain|tell me about|difference between|is it safe|is it true|advice|tips|recommend|what does|stand for|qué es|was ist|unterschied|qu'est-ce|cos'è|что такое|||什么是|是什么|とは|무엇",
};

function cuePattern(words: string): RegExp {
  const list = words.split("|").filter(Boolean);
  const cjk = list.filter((w) => /[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]/.test(w));
  const other = list.filter((w) => !cjk.includes(w)).map((w) =>
    w.replace(/[.*+?^${}()[\]\\]/g, (c) => (c === "." || c === "*" ? c : `\\${c}`))
  );
  const parts = [];
  if (other.length) parts.push(`(?<![\\p{L}\\p{N}])(?:${other.join("|")})`);
  if (cjk.length) parts.push(`(?:${cjk.join("|")})`);
  return new RegExp(parts.join("|"), "iu");
}

const CUES: [string, RegExp][] = Object.entries(CUE_WORDS).map((
  [intent, words],
) => [intent, cuePattern(words)]);

function add(features: Features, name: string, value = 1) {
  const bucket = fnv1a(name) % DIM;
  features.set(bucket, (features.get(bucket) ?? 0) + value);
}

function clip(text: string): string {
  return text.length <= HEAD_CHARS + TAIL_CHARS
    ? text
    : text.slice(0, HEAD_CHARS) + "\n" + text.slice(-TAIL_CHARS);
}

export function extractFeatures(input: RouterInput): Features {
  const features: Features = new Map();
  const turns = input.messages.filter((m) => m.role !== "system");
  const last = [...turns].reverse().find((m) => m.role === "user")?.content ?? "";
  const text = clip(last);
  const lower = text.toLowerCase();
  const words = lower.match(WORD) ?? [];

  add(features, "bias");
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    add(features, `w:${w}`);
    if (i > 0) add(features, `b:${words[i - 1]} ${w}`);
    if (w.length > 2 && w.length <= 24) {
      const padded = `^${w}$`;
      for (let n = 3; n <= 4; n++) {
        for (let j = 0; j + n <= padded.length; j++) add(features, `c${n}:${padded.slice(j, j + n)}`, 0.5);
      }
    }
  }
  if (words.length) add(features, `first:${words[0]}`, 2);

  // Earlier turns: context, weakly (the last user turn decides the intent).
  const earlier = turns.slice(0, -1).map((m) => m.content).join(" ").toLowerCase().slice(0, 2000);
  for (const w of earlier.match(WORD) ?? []) add(features, `ctx:${w}`, 0.3);
  if (turns.length > 1) add(features, "multi_turn");

  for (const [name, pattern] of HAND) if (pattern.test(text)) add(features, `f:${name}`, 2);
  for (const [intent, pattern] of CUES) if (pattern.test(text)) add(features, `cue:${intent}`, 2);
  const images = (input.attachments ?? []).filter((a) =>
    a.type === "image" || a.mimeType?.startsWith("image/")
  );
  if (images.length) add(features, "f:image_attached", 4);
  add(features, `len:${Math.min(7, Math.floor(Math.log2(1 + last.length / 20)))}`, 2);
  add(features, `lines:${Math.min(5, Math.floor(Math.log2(1 + (last.match(/\n/g)?.length ?? 0))))}`);
  add(features, `words:${Math.min(6, Math.floor(Math.log2(1 + words.length)))}`);

  let norm = 0;
  for (const v of features.values()) norm += v * v;
  norm = Math.sqrt(norm) || 1;
  for (const [k, v] of features) features.set(k, v / norm);
  return features;
}
