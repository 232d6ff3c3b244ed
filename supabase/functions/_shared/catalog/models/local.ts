// A model on an OpenAI-compatible server the operator runs (Ollama, llama.cpp server, vLLM, …)
// at LOCAL_BASE_URL, e.g. `ollama pull llama3.2` and LOCAL_BASE_URL=http://localhost:11434/v1.
import type { ModelEntry } from "../schema.ts";

export const localModels: ModelEntry[] = [
  {
    id: "llama3.2",
    provider: "local",
    vendor: "Meta",
    name: "Llama 3.2 3B (local)",
    apiModel: "llama3.2",
    capabilities: ["chat", "tools"],
    // Llama 3.2 takes 128K tokens; the server may be configured smaller (Ollama's num_ctx).
    contextWindow: 131_072,
    maxOutputTokens: 8_192,
    // Self-hosted: no per-token charge. "0" is a price, stated on purpose, not a missing one.
    pricing: {
      unit: "tokens",
      inputPerMTok: "0",
      outputPerMTok: "0",
      source: "https://ollama.com/library/llama3.2",
      asOf: "2026-11-24",
    },
    quality: { general: 4, code: 3, math: 3, reasoning: 3, creative: 4, analysis: 3, research: 2 },
    tiers: ["free", "pro", "team", "enterprise"],
  },
];
