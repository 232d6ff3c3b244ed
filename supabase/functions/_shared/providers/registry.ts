// Which adapter speaks to which provider, and where the provider is (<P>_BASE_URL, <P>_API_KEY).

import { env } from "../env.ts";
import { openaiAdapter } from "./openai/adapter.ts";
import type { ProviderAdapter, ProviderEndpoint } from "./types.ts";

interface ProviderInfo {
  envPrefix: string;
  defaultBaseUrl: string;
  adapter: ProviderAdapter;
}

const PROVIDERS: Record<string, ProviderInfo> = {
  openai: { envPrefix: "OPENAI", defaultBaseUrl: "https://api.openai.com/v1", adapter: openaiAdapter() },
};

export function providerInfo(provider: string): ProviderInfo {
  const info = PROVIDERS[provider];
  if (!info) throw new Error(`no adapter for provider ${provider}`);
  return info;
}

/** Where to reach a provider, or null when it has no key (not configured). */
export function providerEndpoint(provider: string): ProviderEndpoint | null {
  const info = providerInfo(provider);
  const apiKey = env.get(`${info.envPrefix}_API_KEY`);
  if (!apiKey) return null;
  return { apiKey, baseUrl: env.get(`${info.envPrefix}_BASE_URL`) ?? info.defaultBaseUrl };
}

export function isSimulated(provider: string): boolean {
  return env.simulatedProviders.has(provider);
}

export function isConfigured(provider: string): boolean {
  return provider in PROVIDERS && providerEndpoint(provider) !== null;
}
