import assert from "node:assert/strict";
import {
  CHAT_MODELS,
  type ChatModel,
  findModel,
  fitsContext,
  isChatModel,
  isShutDown,
  loadCatalog,
  type ModelEntry,
  MODELS,
} from "../../supabase/functions/_shared/catalog/index.ts";
import { INTENTS } from "../../supabase/functions/_shared/catalog/schema.ts";
import { perTokenUnits, toUnits } from "../../supabase/functions/_shared/money.ts";
import { outputBudget, worstCaseCost } from "../../supabase/functions/_shared/worst-case.ts";
import { providerInfo } from "../../supabase/functions/_shared/providers/registry.ts";

const PROVIDER_APIS = [
  "openai",
  "anthropic",
  "gemini",
  "deepseek",
  "mistral",
  "perplexity",
  "cohere",
  "xai",
  "groq",
  "dashscope",
];
const CHAT_INTENTS = ["general", "code", "math", "reasoning", "creative", "analysis", "research"] as const;

/** The product brief's models, by catalog id (DESIGN.md §5). */
const BRIEF = {
  anthropic: ["claude-opus-4-1", "claude-sonnet-4-5", "claude-3-5-haiku"],
  openai: ["gpt-4o", "o1", "dall-e-3", "whisper-1", "tts-1"],
  gemini: ["gemini-2.0-flash", "gemini-1.5-pro", "imagen-3"],
  // DeepSeek V3 and DeepSeek Chat are the one API model `deepseek-chat`; Coder and Math are mapped
  // onto the API's models (see models/deepseek.ts).
  deepseek: ["deepseek-chat", "deepseek-coder", "deepseek-math"],
  mistral: ["mistral-large-2", "codestral", "pixtral-large"],
  perplexity: ["sonar"],
  groq: ["llama-3.3-70b"],
  dashscope: ["qwen-max", "qwen-plus"],
  cohere: ["command-r-plus"],
  xai: ["grok-2"],
};

function entry(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = structuredClone(findModel("gpt-4o-mini")) as unknown as Record<string, unknown>;
  return { ...base, id: "test-model", ...overrides };
}
function pricingWith(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...(findModel("gpt-4o-mini")!.pricing as unknown as Record<string, unknown>), ...overrides };
}

Deno.test("at least 30 models over exactly the 10 provider APIs plus local", () => {
  assert.ok(MODELS.length >= 30, `${MODELS.length} models`);
  const providers = new Set(MODELS.map((m) => m.provider));
  assert.deepEqual([...providers].sort(), [...PROVIDER_APIS, "local"].sort());
  for (const p of PROVIDER_APIS) {
    assert.ok(MODELS.some((m) => m.provider === p && isChatModel(m)), `${p} has a chat model`);
  }
});

Deno.test("the brief's models are present with their per-provider counts", () => {
  for (const [provider, ids] of Object.entries(BRIEF)) {
    for (const id of ids) {
      const m = findModel(id);
      assert.ok(m, `${id} is in the catalog`);
      assert.equal(m.provider, provider, id);
    }
  }
  const count = (p: string) => MODELS.filter((m) => m.provider === p).length;
  assert.equal(count("anthropic"), 7);
  assert.ok(count("openai") >= 6);
  assert.ok(count("gemini") >= 5);
  assert.ok(count("deepseek") >= 4);
  assert.ok(count("mistral") >= 5);
  assert.equal(findModel("llama-3.3-70b")!.apiModel, "llama-3.3-70b-versatile");
  assert.equal(findModel("command-r-plus")!.apiModel, "command-r-plus-08-2024");
  assert.equal(findModel("grok-2")!.apiModel, "grok-2-1212");
  assert.equal(findModel("deepseek-chat")!.apiModel, "deepseek-chat");
  assert.equal(findModel("deepseek-reasoner")!.apiModel, "deepseek-reasoner");
  assert.equal(MODELS.filter((m) => m.provider === "local").length, 1);
});

Deno.test("ids are unique and every entry is exactly priced", () => {
  assert.equal(new Set(MODELS.map((m) => m.id)).size, MODELS.length);
  const decimal = /^\d+(\.\d+)?$/;
  for (const m of MODELS) {
    const p = m.pricing;
    assert.match(p.source, /^https:\/\//, m.id);
    assert.match(p.asOf, /^\d{4}-\d{2}-\d{2}$/, m.id);
    if (p.unit === "tokens") {
      for (const price of [p.inputPerMTok, p.outputPerMTok, p.cachedInputPerMTok, p.cacheWriteInputPerMTok]) {
        if (price === undefined) continue;
        assert.equal(typeof price, "string", m.id);
        assert.match(price, decimal, m.id);
        perTokenUnits(price); // exact per token, or this throws
      }
      if (p.requestFee !== undefined) assert.match(p.requestFee, decimal, m.id);
      // Only the self-hosted local model is free; a $0 provider price would be a missing one.
      if (m.provider !== "local") {
        assert.ok(toUnits(p.inputPerMTok) > 0n && toUnits(p.outputPerMTok) > 0n, `${m.id} has a price`);
      }
    } else {
      assert.equal(typeof p.perUnit, "string", m.id);
      assert.match(p.perUnit, decimal, m.id);
      assert.ok(toUnits(p.perUnit) > 0n, m.id);
    }
  }
  const local = findModel("llama3.2")!;
  assert.equal(local.provider, "local");
  assert.deepEqual(
    [local.pricing.unit, "inputPerMTok" in local.pricing && local.pricing.inputPerMTok],
    ["tokens", "0"],
  );
});

Deno.test("chat models are priced per token and non-chat models per unit", () => {
  for (const m of MODELS) {
    assert.equal(m.capabilities.includes("chat"), m.pricing.unit === "tokens", m.id);
    assert.equal(isChatModel(m), m.capabilities.includes("chat"), m.id);
  }
  assert.equal(findModel("dall-e-3")!.pricing.unit, "image");
  assert.equal(findModel("imagen-3")!.pricing.unit, "image");
  assert.equal(findModel("whisper-1")!.pricing.unit, "minute");
  assert.equal(findModel("tts-1")!.pricing.unit, "million_characters");
  assert.equal(CHAT_MODELS.length, MODELS.filter((m) => m.capabilities.includes("chat")).length);
});

Deno.test("capabilities the router needs exist: web search, vision, reasoning, image generation, speech", () => {
  const withCap = (c: string) =>
    MODELS.filter((m) => (m.capabilities as string[]).includes(c)).map((m) => m.id);
  assert.ok(withCap("web_search").includes("sonar"));
  assert.ok(withCap("web_search").includes("sonar-pro"));
  assert.ok(withCap("vision").length >= 5);
  assert.ok(withCap("reasoning").includes("o1"));
  assert.ok(withCap("reasoning").includes("deepseek-reasoner"));
  assert.deepEqual(withCap("image_generation").sort(), ["dall-e-3", "imagen-3"]);
  assert.deepEqual(withCap("speech_to_text"), ["whisper-1"]);
  assert.ok(withCap("text_to_speech").includes("tts-1"));
});

Deno.test("quality: every chat intent scored for every chat model, and scores fit the capabilities", () => {
  for (const m of CHAT_MODELS) {
    for (const intent of CHAT_INTENTS) {
      const q = m.quality[intent];
      assert.equal(typeof q, "number", `${m.id} scores ${intent}`);
      assert.ok(q! >= 0 && q! <= 10, `${m.id} ${intent}`);
    }
    assert.equal(
      "vision" in m.quality,
      m.capabilities.includes("vision"),
      `${m.id}: vision score iff vision`,
    );
    assert.equal(m.quality.image_generation, undefined, m.id);
  }
  for (const m of MODELS.filter((m) => m.capabilities.includes("image_generation"))) {
    assert.equal(typeof m.quality.image_generation, "number", m.id);
  }
  for (const intent of INTENTS) {
    assert.ok(MODELS.some((m) => m.quality[intent] !== undefined), `some model scores ${intent}`);
  }
  // Sensible ordering: reasoning models lead on math, web search models on research.
  const best = (intent: typeof CHAT_INTENTS[number]) =>
    Math.max(...CHAT_MODELS.filter((m) => m.quality[intent] !== undefined).map((m) => m.quality[intent]!));
  for (const m of CHAT_MODELS.filter((m) => m.capabilities.includes("web_search"))) {
    assert.ok(m.quality.research! >= 8, `${m.id} is a research model`);
  }
  assert.equal(
    best("research"),
    Math.max(
      ...CHAT_MODELS.filter((m) => m.capabilities.includes("web_search")).map((m) => m.quality.research!),
    ),
  );
  assert.equal(findModel("o1")!.quality.math, best("math"));
  assert.ok(findModel("deepseek-reasoner")!.quality.math! > findModel("deepseek-chat")!.quality.math!);
  assert.ok(findModel("llama-3.1-8b")!.quality.general! < findModel("llama-3.3-70b")!.quality.general!);
});

Deno.test("tiers: premium models are not on free; gpt-4o-mini is the cheapest OpenAI chat model on free", () => {
  for (const id of ["o1", "claude-opus-4-1", "claude-opus-4"]) {
    assert.ok(!(findModel(id)!.tiers as string[]).includes("free"), id);
  }
  const price = (m: ModelEntry) =>
    m.pricing.unit === "tokens" ? toUnits(m.pricing.inputPerMTok) + toUnits(m.pricing.outputPerMTok) : 0n;
  const freeOpenai = CHAT_MODELS.filter((m) => m.provider === "openai" && m.tiers.includes("free"));
  const cheapest = freeOpenai.reduce((a, b) => (price(b) < price(a) ? b : a));
  assert.equal(cheapest.id, "gpt-4o-mini");
  // gpt-4o with the default output budget is over the free tier's $0.01 cap.
  const gpt4o = CHAT_MODELS.find((m) => m.id === "gpt-4o")!;
  assert.ok(toUnits(worstCaseCost(gpt4o, 0, outputBudget(gpt4o))) > toUnits("0.01"));
});

Deno.test("tiered provider prices: context windows stay within the tier the price is for", () => {
  assert.ok(findModel("gemini-2.5-pro")!.contextWindow <= 200_000);
  assert.ok(findModel("gemini-1.5-pro")!.contextWindow <= 128_000);
  for (const id of ["claude-sonnet-4-5", "claude-sonnet-4"]) {
    assert.ok(findModel(id)!.contextWindow <= 200_000);
  }
  for (const m of CHAT_MODELS) assert.ok(m.maxOutputTokens <= m.contextWindow, m.id);
});

Deno.test("Anthropic entries carry cache-write and cache-read prices", () => {
  for (const m of CHAT_MODELS.filter((m) => m.provider === "anthropic")) {
    assert.ok(m.pricing.cacheWriteInputPerMTok, m.id);
    assert.ok(m.pricing.cachedInputPerMTok, m.id);
    assert.ok(toUnits(m.pricing.cacheWriteInputPerMTok!) > toUnits(m.pricing.inputPerMTok), m.id);
    assert.ok(toUnits(m.pricing.cachedInputPerMTok!) < toUnits(m.pricing.inputPerMTok), m.id);
  }
});

Deno.test("lifecycle: retired models are shut down, deprecated ones from their shutdown date", () => {
  assert.equal(isShutDown(findModel("claude-opus-4-1")!), true);
  assert.equal(isShutDown(findModel("gemini-1.5-pro")!, new Date("2025-01-01")), false);
  assert.equal(isShutDown(findModel("gemini-2.5-pro")!, new Date("2026-11-30T23:59:59Z")), false);
  assert.equal(isShutDown(findModel("gemini-2.5-pro")!, new Date("2026-12-01T00:00:00Z")), true);
  assert.equal(isShutDown(findModel("claude-haiku-4-5")!), false);
  // Claude Haiku 3.5: retired by Anthropic on 2026-02-19, Haiku 4.5 named instead
  const haiku35 = findModel("claude-3-5-haiku")!;
  assert.equal(isShutDown(haiku35, new Date("2026-02-18T23:59:59Z")), false);
  assert.equal(isShutDown(haiku35, new Date("2026-02-19T00:00:00Z")), true);
  assert.deepEqual(
    { status: haiku35.lifecycle?.status, replacement: haiku35.lifecycle?.replacement },
    { status: "retired", replacement: "claude-haiku-4-5" },
  );
  // Without a date: today (the date is remembered for the day, not per call).
  for (let i = 0; i < 2; i++) {
    for (const m of MODELS) assert.equal(isShutDown(m), isShutDown(m, new Date()), m.id);
  }
  // Every provider API keeps at least one chat model that is not shut down today... except
  // DeepSeek, whose V3/R1 names the brief requires were retired on 2026-07-24.
  const at = new Date("2026-11-24");
  for (const p of [...PROVIDER_APIS.filter((p) => p !== "deepseek"), "local"]) {
    assert.ok(CHAT_MODELS.some((m) => m.provider === p && !isShutDown(m, at)), `${p} has a live chat model`);
  }
});

Deno.test("loading a catalog validates every entry: a missing or malformed price throws", () => {
  assert.equal(loadCatalog([entry()]).length, 1);
  const withoutPrice = entry();
  delete withoutPrice.pricing;
  const bad: [string, unknown][] = [
    ["no pricing", withoutPrice],
    ["no output price", entry({ pricing: pricingWith({ outputPerMTok: undefined }) })],
    ["exponent", entry({ pricing: pricingWith({ inputPerMTok: "1e-6" }) })],
    ["number, not string", entry({ pricing: pricingWith({ inputPerMTok: 0.15 }) })],
    ["negative", entry({ pricing: pricingWith({ outputPerMTok: "-1" }) })],
    ["empty", entry({ pricing: pricingWith({ inputPerMTok: "" }) })],
    ["13 decimals per 1M", entry({ pricing: pricingWith({ inputPerMTok: "0.0000000000001" }) })],
    ["malformed cached price", entry({ pricing: pricingWith({ cachedInputPerMTok: "0.075.1" }) })],
    ["malformed request fee", entry({ pricing: pricingWith({ requestFee: "5/1000" }) })],
    ["no source", entry({ pricing: pricingWith({ source: undefined }) })],
    ["bad asOf", entry({ pricing: pricingWith({ asOf: "June 2025" }) })],
    [
      "unit price missing",
      entry({
        capabilities: ["image_generation"],
        pricing: { unit: "image", source: "https://x.test/", asOf: "2025-01-01" },
      }),
    ],
    [
      "unit price as a number",
      entry({
        capabilities: ["image_generation"],
        pricing: { unit: "image", perUnit: 0.04, source: "https://x.test/", asOf: "2025-01-01" },
      }),
    ],
    [
      "unit price with an exponent",
      entry({
        capabilities: ["speech_to_text"],
        pricing: { unit: "minute", perUnit: "6e-3", source: "https://x.test/", asOf: "2025-01-01" },
      }),
    ],
    [
      "chat priced per unit",
      entry({ pricing: { unit: "image", perUnit: "0.04", source: "https://x.test/", asOf: "2025-01-01" } }),
    ],
    [
      "bad lifecycle date",
      entry({ lifecycle: { status: "deprecated", shutdownOn: "soon", source: "https://x.test/" } }),
    ],
    ["fixed sampling on a model that does not reason", entry({ fixedSampling: true })],
    ["reasoning efforts on a model that does not reason", entry({ reasoningEfforts: ["low"] })],
    [
      "an unknown reasoning effort",
      entry({ capabilities: ["chat", "reasoning"], reasoningEfforts: ["max"] }),
    ],
    ["no reasoning efforts listed", entry({ capabilities: ["chat", "reasoning"], reasoningEfforts: [] })],
    ["an input limit as large as the context window", entry({ maxInputTokens: 128_000 })],
    ["an input limit of zero", entry({ maxInputTokens: 0 })],
  ];
  for (const [what, e] of bad) assert.throws(() => loadCatalog([e]), what);
  assert.throws(() => loadCatalog([entry(), entry()]), /duplicate model id/);
});

Deno.test("OpenAI's reasoning models sample at fixed settings; listed reasoning efforts reach the provider", () => {
  // OpenAI answers 400 to temperature or top_p for its reasoning models (o-series, gpt-5).
  const openaiReasoning = CHAT_MODELS.filter((m) =>
    m.provider === "openai" && m.capabilities.includes("reasoning")
  );
  assert.deepEqual(openaiReasoning.map((m) => m.id).sort(), ["gpt-5", "o1", "o3-mini"]);
  for (const m of openaiReasoning) {
    assert.equal(m.fixedSampling, true, m.id);
    assert.ok(m.reasoningEfforts?.includes("low") && m.reasoningEfforts.includes("high"), m.id);
  }
  assert.equal(findModel("gpt-4o")!.fixedSampling, undefined);
  // A model that lists efforts is served by an adapter that carries reasoning_effort.
  const withEfforts = CHAT_MODELS.filter((m) => m.reasoningEfforts);
  assert.ok(withEfforts.length >= 3);
  for (const m of withEfforts) {
    assert.equal(providerInfo(m.provider).adapter.features.reasoningEffort, true, m.id);
  }
});

Deno.test("an input limit below the context window: fitsContext checks both (gpt-5, qwen-max)", () => {
  assert.equal(loadCatalog([entry({ maxInputTokens: 100_000 })])[0].maxInputTokens, 100_000);
  const gpt5 = findModel("gpt-5") as ChatModel;
  assert.equal(fitsContext(gpt5, 272_000, 128_000), true);
  assert.equal(fitsContext(gpt5, 272_001, 4_096), false, "within the window, over the input limit");
  const qwen = findModel("qwen-max") as ChatModel;
  assert.equal(fitsContext(qwen, 30_720, 2_048), true);
  assert.equal(fitsContext(qwen, 30_721, 1), false);
  const mini = findModel("gpt-4o-mini") as ChatModel;
  assert.equal(fitsContext(mini, 120_000, 8_000), true, "no input limit: the window alone");
  assert.equal(fitsContext(mini, 120_000, 8_001), false);
});
