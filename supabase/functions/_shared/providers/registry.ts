// Which adapter speaks to which provider, and where the provider is: <P>_BASE_URL (default:
// the root its official SDK uses) and <P>_API_KEY. A provider without a key is not configured
// (the router skips it); the local OpenAI-compatible server needs only LOCAL_BASE_URL.

import { env } from "../env.ts";
import type { ProviderAdapter, ProviderEndpoint } from "./types.ts";
import * as openai from "./openai/adapter.ts";
import * as anthropic from "./anthropic/adapter.ts";
import * as gemini from "./gemini/adapter.ts";
import * as cohere from "./cohere/adapter.ts";
import * as deepseek from "./deepseek/adapter.ts";
import * as mistral from "./mistral/adapter.ts";
import * as perplexity from "./perplexity/adapter.ts";
import * as xai from "./xai/adapter.ts";
import * as groq from "./groq/adapter.ts";
import * as dashscope from "./dashscope/adapter.ts";
import * as local from "./local/adapter.ts";

interface ProviderInfo {
  envPrefix: string;
  defaultBaseUrl: string;
  adapter: ProviderAdapter;
  /** Providers that work without a key (a self-hosted server). */
  keyOptional?: boolean;
}

const PROVIDERS: Record<string, ProviderInfo> = {
  openai: { envPrefix: "OPENAI", defaultBaseUrl: openai.defaultBaseUrl, adapter: openai.openaiAdapter() },
  anthropic: {
    envPrefix: "ANTHROPIC",
    defaultBaseUrl: anthropic.defaultBaseUrl,
    adapter: anthropic.anthropicAdapter,
  },
  gemini: { envPrefix: "GEMINI", defaultBaseUrl: gemini.defaultBaseUrl, adapter: gemini.geminiAdapter },
  cohere: { envPrefix: "COHERE", defaultBaseUrl: cohere.defaultBaseUrl, adapter: cohere.cohereAdapter },
  deepseek: {
    envPrefix: "DEEPSEEK",
    defaultBaseUrl: deepseek.defaultBaseUrl,
    adapter: deepseek.deepseekAdapter,
  },
  mistral: { envPrefix: "MISTRAL", defaultBaseUrl: mistral.defaultBaseUrl, adapter: mistral.mistralAdapter },
  perplexity: {
    envPrefix: "PERPLEXITY",
    defaultBaseUrl: perplexity.defaultBaseUrl,
    adapter: perplexity.perplexityAdapter,
  },
  xai: { envPrefix: "XAI", defaultBaseUrl: xai.defaultBaseUrl, adapter: xai.xaiAdapter },
  groq: { envPrefix: "GROQ", defaultBaseUrl: groq.defaultBaseUrl, adapter: groq.groqAdapter },
  dashscope: {
    envPrefix: "DASHSCOPE",
    defaultBaseUrl: dashscope.defaultBaseUrl,
    adapter: dashscope.dashscopeAdapter,
  },
  local: {
    envPrefix: "LOCAL",
    defaultBaseUrl: local.defaultBaseUrl,
    adapter: local.localAdapter,
    keyOptional: true,
  },
};

export const PROVIDER_NAMES = Object.keys(PROVIDERS);

export function providerInfo(provider: string): ProviderInfo {
  const info = PROVIDERS[provider];
  if (!info) throw new Error(`no adapter for provider ${provider}`);
  return info;
}

/** Where to reach a provider, or null when it is not configured here. */
export function providerEndpoint(provider: string): ProviderEndpoint | null {
  const info = PROVIDERS[provider];
  if (!info) return null;
  const baseUrl = env.get(`${info.envPrefix}_BASE_URL`);
  const apiKey = env.get(`${info.envPrefix}_API_KEY`);
  if (info.keyOptional) return baseUrl ? { baseUrl, apiKey: apiKey ?? "local" } : null;
  if (!apiKey) return null;
  return { apiKey, baseUrl: baseUrl ?? info.defaultBaseUrl };
}

export function isSimulated(provider: string): boolean {
  return env.simulatedProviders.has(provider);
}

export function isConfigured(provider: string): boolean {
  return providerEndpoint(provider) !== null;
}
