// What the router's classifier sees: hashed word unigrams and bigrams and character 3/4-grams of
// the last user turn (so it reads any language and survives typos), a few words of the earlier
// turns, and hand-written features (code fences, LaTeX, URLs, recency words, attachments,
// length). Feature names are hashed into DIM buckets (FNV-1a); the vector is L2-normalized so
// a long prompt does not outvote a short one.

/** A turn as the classifier reads it: its role and its text (images come as attachments). */
export interface TextMessage {
  role: string;
  content: string;
}

export const DIM = 1 << 15;

export interface Attachment {
  type: string;
  mimeType?: string;
  name?: string;
}

export interface RouterInput {
  messages: TextMessage[];
  attachments?: Attachment[];
}

/** Sparse feature vector: parallel arrays of buckets and values. */
export interface Features {
  buckets: Int32Array;
  values: Float32Array;
}

// The last turn can be a pasted book: its head and tail carry the instruction.
const HEAD_CHARS = 4000;
const TAIL_CHARS = 2000;

// FNV-1a, continued from a state, so prefixed names ("w:", "c3:", …) hash without building strings.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(state: number, text: string): number {
  for (let i = 0; i < text.length; i++) state = Math.imul(state ^ text.charCodeAt(i), FNV_PRIME);
  return state;
}

const SEED = {
  word: fnv(FNV_OFFSET, "w:"),
  bigram: fnv(FNV_OFFSET, "b:"),
  c3: fnv(FNV_OFFSET, "c3:"),
  c4: fnv(FNV_OFFSET, "c4:"),
};
const CARET = 94; // "^": start of word
const DOLLAR = 36; // "$": end of word

const bucket = (state: number) => (state >>> 0) % DIM;

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
  ["non_latin", /[^\P{L}\p{Script=Latin}]/u],
];

// Cue words per intent, in several languages: with a few hundred examples per intent, these
// carry what the data alone is too small to teach (each is a feature, weighed by training).
// Words match at a word start (prefixes allowed); CJK cues match anywhere (no spaces there).
const CUE_WORDS: Record<string, string> = {
  code:
    "code|function|bug|error|exception|stack trace|traceback|compile|python|javascript|typescript|java|rust|golang|sql|regex|api|script|refactor|unit test|unit tests|class|method|variable|docker|kubernetes|bash|git|npm|endpoint|debug|kernel|query|código|codigo|fonction|funktion|funzione|программ*|функци*|代码|函数|程序|编程|コード|関数|プログラム|코드|함수|파이썬",
  math:
    "solve|equation|integral|derivative|probability|prove|proof|theorem|matrix|eigen|calculate|compute|percent|average|median|variance|standard deviation|statistic|geometry|triangle|algebra|limit|series|area of|volume of|binary|decimal|resuelve|ecuación|calcula|probabilidad|berechne|gleichung|calcule|équation|calcola|equazione|уравнени*|вычисл*|найдите все|方程|计算|概率|证明|求解|計算|確率|証明|확률|방정식|계산",
  reasoning:
    "puzzle|riddle|logic|deduce|should i|should we|which option|trade-off|tradeoff|decide|decision|plan|schedule|strategy|pros and cons|who is lying|liar|knight|dilemma|prioriti*|heavier|acertijo|rätsel|énigme|enigma|головоломк*|谜|推理|说谎|谁说|パズル|推理|수수께끼|추론",
  creative:
    "poem|story|haiku|lyrics|song|slogan|tagline|ad copy|jingle|limerick|sonnet|fiction|character|role-play|roleplay|pretend|names for|brainstorm|joke|npc|tavern|love letter|noir|poema|cuento|historia|chiste|gedicht|geschichte|witz|poème|histoire|blague|poesia|racconto|grap*|стихотворени*|рассказ*|шутк*|诗|故事|笑话|詩|物語|冗談|시를|이야기|농담",
  analysis:
    "summari*|tl;dr|tldr|translat*|rewrite|rephrase|proofread|fix the grammar|grammar|edit|extract|classify|compare|key points|bullet|paraphrase|simplify|this text|this article|this email|this document|this paragraph|this passage|transcript|in one sentence|resum*|tradu*|übersetz*|zusammenfass*|riassum*|переведи|перевод*|кратко|翻译|翻譯|总结|摘要|訳して|翻訳|要約|번역|요약",
  research:
    "latest|newest|current|today|tonight|tomorrow|this week|this weekend|this month|right now|recent|news|score|stock price|price of|exchange rate|release*|announced|election|weather|who won|last night|sources|cite|up-to-date|flights|concerts|aktuell|heute|morgen|neueste*|hoy|mañana|últim*|dernier*|aujourd|oggi|ultim*|hoje|cotação|semana|hafta|bu hafta|сегодня|завтра|последн*|новост*|最新|今天|今日|本周|明日|오늘|최신|이번 주",
  image_generation:
    "draw|paint|sketch|illustrate|pixel art|generate an image|generate a picture|create an image|create a picture|create a logo|make an image|make a logo|render|wallpaper|dibuja|zeichne|dessine|disegna|нарисуй|画一|生成一张|生成图|描いて|画像を生成|그려",
  general:
    "what is|what's|who was|who wrote|why do|why does|how does|explain|tell me about|difference between|is it safe|is it true|advice|tips|recommend|what does|stand for|qué es|was ist|unterschied|qu'est-ce|cos'è|что такое|什么是|是什么|とは|무엇",
};

// Cues are looked up per word (and per two or three words), not scanned for with regular
// expressions: a 4,000-character prompt must be read in well under a millisecond. A cue ending
// in "*" is a word stem; CJK cues are found as substrings (CJK text has no spaces).
const CJK_CHAR = /[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]/;
const PHRASES = new Map<string, string[]>();
const STEMS = new Map<string, [string, string][]>(); // first two letters → [stem, intent]
const CJK_CUES: [string, string][] = [];
const PHRASE_STARTS = new Set<string>(); // first words of multi-word cues
for (const [intent, words] of Object.entries(CUE_WORDS)) {
  for (const cue of words.split("|").filter(Boolean)) {
    if (CJK_CHAR.test(cue)) CJK_CUES.push([cue, intent]);
    else if (cue.endsWith("*")) {
      const stem = cue.slice(0, -1);
      STEMS.set(stem.slice(0, 2), [...(STEMS.get(stem.slice(0, 2)) ?? []), [stem, intent]]);
    } else {
      const phrase = (cue.match(WORD) ?? []).join(" "); // "what's" is read as "what s", as prompts are
      PHRASES.set(phrase, [...(PHRASES.get(phrase) ?? []), intent]);
      if (phrase.includes(" ")) PHRASE_STARTS.add(phrase.split(" ")[0]);
    }
  }
}

function cuesOf(words: string[], text: string): Set<string> {
  const found = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    for (const intent of PHRASES.get(w) ?? []) found.add(intent);
    for (const [stem, intent] of STEMS.get(w.slice(0, 2)) ?? []) if (w.startsWith(stem)) found.add(intent);
    if (i + 1 < words.length && PHRASE_STARTS.has(w)) {
      const two = `${w} ${words[i + 1]}`;
      for (const intent of PHRASES.get(two) ?? []) found.add(intent);
      if (i + 2 < words.length) {
        for (const intent of PHRASES.get(`${two} ${words[i + 2]}`) ?? []) found.add(intent);
      }
    }
  }
  for (const [cue, intent] of CJK_CUES) if (text.includes(cue)) found.add(intent);
  return found;
}

/** A feature accumulator: dense scratch space plus the buckets touched, reused across calls. */
const scratch = new Float64Array(DIM);
const touched: number[] = [];

function addBucket(b: number, value: number) {
  if (scratch[b] === 0) touched.push(b);
  scratch[b] += value;
}

function add(name: string, value = 1) {
  addBucket(bucket(fnv(FNV_OFFSET, name)), value);
}

/** Adds a word's character 3- and 4-grams, with ^ and $ marking its edges. */
function addCharGrams(word: string, value: number) {
  const last = word.length + 1;
  const code = (i: number) => (i === 0 ? CARET : i === last ? DOLLAR : word.charCodeAt(i - 1));
  let a = CARET, b = code(1), c = code(2);
  addBucket(
    bucket(Math.imul(Math.imul(Math.imul(SEED.c3 ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ c, FNV_PRIME)),
    value,
  );
  for (let j = 3; j <= last; j++) {
    const d = code(j);
    addBucket(
      bucket(Math.imul(Math.imul(Math.imul(SEED.c3 ^ b, FNV_PRIME) ^ c, FNV_PRIME) ^ d, FNV_PRIME)),
      value,
    );
    const h = Math.imul(Math.imul(Math.imul(SEED.c4 ^ a, FNV_PRIME) ^ b, FNV_PRIME) ^ c, FNV_PRIME);
    addBucket(bucket(Math.imul(h ^ d, FNV_PRIME)), value);
    a = b;
    b = c;
    c = d;
  }
}

function clip(text: string): string {
  return text.length <= HEAD_CHARS + TAIL_CHARS
    ? text
    : text.slice(0, HEAD_CHARS) + "\n" + text.slice(-TAIL_CHARS);
}

export function extractFeatures(input: RouterInput): Features {
  try {
    return collect(input);
  } finally {
    for (const b of touched) scratch[b] = 0; // never leave the shared scratch dirty
    touched.length = 0;
  }
}

function collect(input: RouterInput): Features {
  const turns = input.messages.filter((m) => m.role !== "system");
  const last = [...turns].reverse().find((m) => m.role === "user")?.content ?? "";
  const text = clip(last);
  const words = text.toLowerCase().match(WORD) ?? [];

  add("bias");
  let previous = "";
  for (const w of words) {
    addBucket(bucket(fnv(SEED.word, w)), 1);
    if (previous) addBucket(bucket(fnv(fnv(fnv(SEED.bigram, previous), " "), w)), 1);
    previous = w;
    if (w.length > 2 && w.length <= 24) addCharGrams(w, 0.5);
  }
  if (words.length) add(`first:${words[0]}`, 2);

  // Earlier turns: context, weakly (the last user turn decides the intent).
  const earlier = turns.slice(0, -1).map((m) => m.content).join(" ").toLowerCase().slice(0, 2000);
  for (const w of earlier.match(WORD) ?? []) add(`ctx:${w}`, 0.3);
  if (turns.length > 1) add("multi_turn");

  for (const [name, pattern] of HAND) if (pattern.test(text)) add(`f:${name}`, 2);
  for (const intent of cuesOf(words, text)) add(`cue:${intent}`, 2);
  const images = (input.attachments ?? []).filter((a) =>
    a.type === "image" || a.mimeType?.startsWith("image/")
  );
  if (images.length) add("f:image_attached", 4);
  add(`len:${Math.min(7, Math.floor(Math.log2(1 + last.length / 20)))}`, 2);
  add(`lines:${Math.min(5, Math.floor(Math.log2(1 + (last.match(/\n/g)?.length ?? 0))))}`);
  add(`words:${Math.min(6, Math.floor(Math.log2(1 + words.length)))}`);

  let norm = 0;
  for (const b of touched) norm += scratch[b] * scratch[b];
  norm = Math.sqrt(norm) || 1;
  const features: Features = { buckets: Int32Array.from(touched), values: new Float32Array(touched.length) };
  touched.forEach((b, i) => (features.values[i] = scratch[b] / norm));
  return features;
}
