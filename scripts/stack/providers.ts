// Provider wiring for the local stack: a provider with an API key in the environment is called
// for real; one without gets a simulated server speaking its wire format, and the functions are
// told which providers are simulated (GET /models and the UI say so).

import { startOpenAISimulator } from "../simulators/openai.ts";

interface Simulator {
  url: string;
  close(): Promise<void>;
}

/** Env prefix → simulated server, for each wire format we can simulate. */
const SIMULATORS: Record<string, { provider: string; start: (pace: Pace) => Promise<Simulator> }> = {
  OPENAI: { provider: "openai", start: (pace) => startOpenAISimulator({ port: 0, ...pace }) },
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
  for (const [prefix, sim] of Object.entries(SIMULATORS)) {
    if (source[`${prefix}_API_KEY`]) continue;
    const server = await sim.start(pace);
    started.push(server);
    simulated.push(sim.provider);
    simulatorUrls[sim.provider] = server.url;
    env[`${prefix}_API_KEY`] = "simulated";
    env[`${prefix}_BASE_URL`] = server.url;
  }
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
