// Provider wiring for the local stack: a provider with an API key in the environment is called
// for real; one without gets a simulated server speaking its wire format, and the functions are
// told which providers are simulated (GET /models and the UI say so).

import { startOpenAISimulator } from "../simulators/openai.ts";

interface Simulator {
  url: string;
  close(): Promise<void>;
}

/** Env prefix → simulated server, for each wire format we can simulate. */
const SIMULATORS: Record<string, { provider: string; start: () => Promise<Simulator> }> = {
  OPENAI: { provider: "openai", start: () => startOpenAISimulator({ port: 0 }) },
};

/** Every provider API the product knows (DESIGN.md §5), passed through to the functions. */
export const PROVIDER_ENV_PREFIXES = [
  "OPENAI", "ANTHROPIC", "GEMINI", "DEEPSEEK", "MISTRAL", "PERPLEXITY", "COHERE", "XAI", "GROQ", "DASHSCOPE", "LOCAL",
];

export interface ProviderWiring {
  env: Record<string, string>;
  simulated: string[];
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
  for (const [prefix, sim] of Object.entries(SIMULATORS)) {
    if (source[`${prefix}_API_KEY`]) continue;
    const server = await sim.start();
    started.push(server);
    simulated.push(sim.provider);
    env[`${prefix}_API_KEY`] = "simulated";
    env[`${prefix}_BASE_URL`] = server.url;
  }
  env.NEXUS_SIMULATED_PROVIDERS = simulated.join(",");
  return {
    env,
    simulated,
    close: async () => {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}
