// Alibaba Qwen models on DashScope / Model Studio, international deployment (Singapore,
// OpenAI-compatible mode: https://dashscope-intl.aliyuncs.com/compatible-mode/v1). USD per 1M
// tokens from Model Studio's model list and pricing (international prices; the Beijing region
// bills in CNY at other rates).
//
// qwen-plus and qwen-turbo (Qwen3) have a thinking mode billed at a higher output price; the
// prices below are for non-thinking mode, the default (`enable_thinking` false), so an adapter
// must not turn thinking on at this price. qwen-plus bills prompts over 256K at a higher tier; its
// window here stays within the first tier. Lifecycle in 2026 not confirmed.
//
// Implicit context cache (automatic, cannot be turned off): input read from it is billed at 20%
// of the input price (https://www.alibabacloud.com/help/en/model-studio/context-cache, 2026-10);
// a model that does not cache reports no cached tokens, so the rate is then unused.
import type { ModelEntry } from "../schema.ts";

const source = "https://www.alibabacloud.com/help/en/model-studio/models";
const asOf = "2025-10-01";
const all = ["free", "pro", "team", "enterprise"] as const;

export const dashscopeModels: ModelEntry[] = [
  {
    id: "qwen-max",
    provider: "dashscope",
    vendor: "Alibaba",
    name: "Qwen-Max",
    apiModel: "qwen-max",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 32_768,
    maxOutputTokens: 8_192,
    maxInputTokens: 30_720, // Model Studio: 32,768 in all, at most 30,720 of them input
    pricing: {
      unit: "tokens",
      inputPerMTok: "1.60",
      cachedInputPerMTok: "0.32",
      outputPerMTok: "6.40",
      source,
      asOf,
    },
    quality: { general: 8, code: 8, math: 7, reasoning: 7, creative: 7, analysis: 8, research: 5 },
    tiers: [...all],
  },
  {
    id: "qwen-plus",
    provider: "dashscope",
    vendor: "Alibaba",
    name: "Qwen-Plus",
    apiModel: "qwen-plus",
    capabilities: ["chat", "tools", "code"],
    contextWindow: 131_072,
    maxOutputTokens: 8_192,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.40",
      cachedInputPerMTok: "0.08",
      outputPerMTok: "1.20",
      source,
      asOf,
    },
    quality: { general: 7, code: 7, math: 7, reasoning: 6, creative: 7, analysis: 7, research: 5 },
    tiers: [...all],
  },
  {
    id: "qwen-turbo",
    provider: "dashscope",
    vendor: "Alibaba",
    name: "Qwen-Turbo",
    apiModel: "qwen-turbo",
    capabilities: ["chat", "code"], // no function calling on the international deployment
    contextWindow: 131_072,
    maxOutputTokens: 16_384,
    pricing: {
      unit: "tokens",
      inputPerMTok: "0.05",
      cachedInputPerMTok: "0.01",
      outputPerMTok: "0.20",
      source,
      asOf,
    },
    quality: { general: 6, code: 5, math: 5, reasoning: 5, creative: 5, analysis: 5, research: 4 },
    tiers: [...all],
  },
];
