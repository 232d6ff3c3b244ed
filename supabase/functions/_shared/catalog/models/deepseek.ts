// DeepSeek models (OpenAI-compatible API, https://api.deepseek.com). USD per 1M tokens: input on a
// cache miss, input on a cache hit (`cachedInputPerMTok`), output (the reasoner's chain of thought
// included). The DeepSeek-V3.2 price list (in force from 2025-09-29, one price for both models);
// asOf is a date it was on the official page.
//
// What the API serves: two model names, `deepseek-chat` (DeepSeek-V3 line, non-thinking: the
// brief's "DeepSeek V3" and "DeepSeek Chat" are this one model) and `deepseek-reasoner` (R1 line,
// thinking mode). The brief also names DeepSeek Coder and DeepSeek Math, which are not API models:
// - DeepSeek-Coder was merged into the chat model with DeepSeek-V2.5 (September 2024; the old
//   `deepseek-coder` name then pointed at the same model as `deepseek-chat` and was later dropped
//   from GET /models). `deepseek-coder` below is that mapping: it calls `deepseek-chat`.
// - DeepSeekMath was only ever released as open weights (7B, 2024), never served by the API; its
//   math RL work (GRPO) went into R1. `deepseek-math` below maps to `deepseek-reasoner`.
// None of the other nine provider APIs host DeepSeek-Coder or DeepSeekMath, so the mapping is the
// honest option; the entries carry the same price as the model they call.
//
// Lifecycle: per DeepSeek's "Your First API Call" page (checked 2026-11-24), both names were
// deprecated on 2026-07-24 15:59 UTC in favour of the V4 models (`deepseek-v4-flash`, with
// thinking off/on). They are kept because the brief names them.
import type { ModelEntry } from "../schema.ts";

const pricing = {
  unit: "tokens",
  inputPerMTok: "0.28",
  cachedInputPerMTok: "0.028",
  outputPerMTok: "0.42",
  source: "https://api-docs.deepseek.com/quick_start/pricing",
  asOf: "2025-12-01",
} as const;
const all = ["free", "pro", "team", "enterprise"] as const;
const lifecycle = {
  status: "retired",
  shutdownOn: "2026-07-24",
  replacement: "deepseek-v4-flash",
  source: "https://api-docs.deepseek.com/",
} as const;

const chatQuality = { general: 8, code: 8, math: 7, reasoning: 7, creative: 7, analysis: 7, research: 5 };
const reasonerQuality = { general: 7, code: 8, math: 9, reasoning: 9, creative: 6, analysis: 8, research: 5 };

export const deepseekModels: ModelEntry[] = [
  {
    id: "deepseek-chat",
    provider: "deepseek",
    vendor: "DeepSeek",
    name: "DeepSeek-V3 (Chat)",
    apiModel: "deepseek-chat",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    pricing: { ...pricing },
    quality: { ...chatQuality },
    tiers: [...all],
    lifecycle: { ...lifecycle },
  },
  {
    id: "deepseek-reasoner",
    provider: "deepseek",
    vendor: "DeepSeek",
    name: "DeepSeek-R1 (Reasoner)",
    apiModel: "deepseek-reasoner",
    capabilities: ["chat", "tools", "reasoning", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 65_536,
    pricing: { ...pricing },
    quality: { ...reasonerQuality },
    tiers: [...all],
    lifecycle: { ...lifecycle },
  },
  {
    id: "deepseek-coder",
    provider: "deepseek",
    vendor: "DeepSeek",
    name: "DeepSeek Coder (served by deepseek-chat)",
    apiModel: "deepseek-chat", // Coder was merged into the chat model (V2.5, 2024-09)
    capabilities: ["chat", "tools", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    pricing: { ...pricing },
    quality: { ...chatQuality },
    tiers: [...all],
    lifecycle: { ...lifecycle },
  },
  {
    id: "deepseek-math",
    provider: "deepseek",
    vendor: "DeepSeek",
    name: "DeepSeek Math (served by deepseek-reasoner)",
    apiModel: "deepseek-reasoner", // DeepSeekMath was never an API model; R1 carries its line
    capabilities: ["chat", "tools", "reasoning", "code"],
    contextWindow: 128_000,
    maxOutputTokens: 65_536,
    pricing: { ...pricing },
    quality: { ...reasonerQuality },
    tiers: [...all],
    lifecycle: { ...lifecycle },
  },
];
