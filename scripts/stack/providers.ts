// Provider wiring for the local stack: a provider with an API key in the environment is called
// for real; one without gets a simulated server speaking its wire format, and the functions are
// told which providers are simulated (GET /models and the UI say so).

import { startOpenAISimulator } from "../simulators/openai.ts";
import { startAnthropicSimulator } from "../simulators/anthropic.ts";
import { startGeminiSimulator } from "../simulators/gemini.ts";
import { startCohereSimulator } from "../simulators/cohere.ts";

interface Simulator {
  url: string;
  close(): Promise<void>;
}

/**
 * Env prefix → its simulated server: one per provider (so a test can fail one provider and not
 * the others), speaking the provider's wire format and, for OpenAI-compatible providers, its
 * specifics (the simulator's flavor). A local server (LOCAL_BASE_URL) is never simulated.
 */
const SIMULATORS: Record<string, { provider: string; start: (pace: Pace) => Promise<Simulator> }> = {
  OPENAI: { provider: "openai", start: (pace) => startOpenAISimulator({ port: 0, ...pace }) },
  ANTHROPIC: { provider: "anthropic", start: (pace) => startAnthropicSimulator({ port: 0, ...pace }) },
  GEMINI: { provider: "gemini", start: (pace) => startGeminiSimulator({ port: 0, ...pace }) },
  COHERE: { provider: "cohere", start: (pace) => startCohereSimulator({ port: 0, ...pace }) },
  DEEPSEEK: {
    provider: "deepseek",
    start: (pace) => startOpenAISimulator({ port: 0, ...pace, flavor: "deepseek" }),
  },
  MISTRAL: {
    provider: "mistral",
    start: (pace) => startOpenAISimulator({ port: 0, ...pace, flavor: "mistral" }),
  },
  PERPLEXITY: {
    provider: "perplexity",
    start: (pace) => startOpenAISimulator({ port: 0, ...pace, flavor: "perplexity" }),
  },
  XAI: { provider: "xai", start: (pace) => startOpenAISimulator({ port: 0, ...pace, flavor: "xai" }) },
  GROQ: { provider: "groq", start: (pace) => startOpenAISimulator({ port: 0, ...pace }) },
  DASHSCOPE: { provider: "dashscope", start: (pace) => startOpenAISimulator({ port: 0, ...pace }) },
};

/** How simulated providers answer (NEXUS_SIMULATOR_TPS, _FIRST_TOKEN_MS, _REPLY_TOKENS). */
interface Pace {
  tokensPerSecond?: number;
  firstTokenLatencyMs?: number;
  maxReplyTokens?: number;
}

/** Every provider API the product knows (DESIGN.md §5), passed through to the functions. */
export const PROVIDER_ENV_PREFIXES = [
  "OPENAI",
  "ANTHROPIC",
  "GEMINI",
  "DEEPSEEK",
  "MISTRAL",
  "PERPLEXITY",
  "COHERE",
  "XAI",
  "GROQ",
  "DASHSCOPE",
  "LOCAL",
];

export interface ProviderWiring {
  env: Record<string, string>;
  simulated: string[];
  /** provider → base URL of its simulator (tests switch fault modes there) */
  simulatorUrls: Record<string, string>;
  close(): Promise<void>;
}

export async function wireProviders(source: Record<string, string | undefined>): Promise<ProviderWiring> {
  const env: Record<string, string> = {};
  for (const prefix of PROVIDER_ENV_PREFIXES) {
    for (const key of [`${prefix}_API_KEY`, `${prefix}_BASE_URL`]) {
      if (source[key]) env[key] = source[key]!;
    }
  }
  const started: Simulator[] = [];
  const simulated: string[] = [];
  const simulatorUrls: Record<string, string> = {};
  const pace: Pace = {};
  if (source.NEXUS_SIMULATOR_TPS) pace.tokensPerSecond = Number(source.NEXUS_SIMULATOR_TPS);
  if (source.NEXUS_SIMULATOR_FIRST_TOKEN_MS) {
    pace.firstTokenLatencyMs = Number(source.NEXUS_SIMULATOR_FIRST_TOKEN_MS);
  }
  if (source.NEXUS_SIMULATOR_REPLY_TOKENS) pace.maxReplyTokens = Number(source.NEXUS_SIMULATOR_REPLY_TOKENS);
  const toStart = Object.entries(SIMULATORS).filter(([prefix]) => !source[`${prefix}_API_KEY`]);
  const servers = await Promise.all(toStart.map(([, sim]) => sim.start(pace)));
  toStart.forEach(([prefix, sim], i) => {
    const server = servers[i];
    started.push(server);
    simulated.push(sim.provider);
    simulatorUrls[sim.provider] = server.url;
    env[`${prefix}_API_KEY`] = "simulated";
    env[`${prefix}_BASE_URL`] = server.url;
  });
  env.NEXUS_SIMULATED_PROVIDERS = simulated.join(",");
  return {
    env,
    simulated,
    simulatorUrls,
    close: async () => {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}
