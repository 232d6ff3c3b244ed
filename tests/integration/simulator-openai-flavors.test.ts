// The simulated OpenAI-compatible providers (the OpenAI simulator's `flavor` option: DeepSeek,
// xAI, Perplexity, Mistral), checked with the official `openai` SDK as the client (it talks to
// all of them), then our own adapters against them: buildRequest → fetch → parseStream/collect
// (and parseResponse), the normalized usage matching what the simulator reported and counted.
// Each test starts its own simulator (OS-assigned port, no pacing) and closes it.

import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  type OpenAIFlavorName,
  type Simulator,
  startOpenAISimulator,
} from "../../scripts/simulators/openai.ts";
import type { StatsSnapshot } from "../../scripts/simulators/control.ts";
import { tokenize } from "../../scripts/simulators/tokens.ts";
import type { ChatModel } from "../../supabase/functions/_shared/catalog/index.ts";
import { collect } from "../../supabase/functions/_shared/providers/sse.ts";
import type {
  ProviderAdapter,
  ProviderRequest,
  Usage,
} from "../../supabase/functions/_shared/providers/types.ts";
import { openaiAdapter } from "../../supabase/functions/_shared/providers/openai/adapter.ts";
import { deepseekAdapter } from "../../supabase/functions/_shared/providers/deepseek/adapter.ts";
import { mistralAdapter } from "../../supabase/functions/_shared/providers/mistral/adapter.ts";
import { perplexityAdapter } from "../../supabase/functions/_shared/providers/perplexity/adapter.ts";
import { xaiAdapter } from "../../supabase/functions/_shared/providers/xai/adapter.ts";
import { groqAdapter } from "../../supabase/functions/_shared/providers/groq/adapter.ts";
import { dashscopeAdapter } from "../../supabase/functions/_shared/providers/dashscope/adapter.ts";
import { localAdapter } from "../../supabase/functions/_shared/providers/local/adapter.ts";

const HELLO: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: "user", content: "Hello!" }];
type Chunk = OpenAI.Chat.ChatCompletionChunk;

/** Fields of these providers that the OpenAI SDK's types do not declare. */
interface Extra {
  reasoning_content?: string | null;
  citations?: string[];
  search_results?: { title: string; url: string }[];
  usage?: {
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    prompt_tokens_details?: { cached_tokens?: number };
    completion_tokens_details?: { reasoning_tokens?: number };
    prompt_cache_hit_tokens?: number;
    prompt_cache_miss_tokens?: number;
  } | null;
}

async function withSim(
  flavor: OpenAIFlavorName,
  fn: (sim: Simulator, client: OpenAI) => Promise<void>,
): Promise<void> {
  const sim = await startOpenAISimulator({ tokensPerSecond: 0, firstTokenLatencyMs: 0, flavor });
  try {
    await fn(sim, new OpenAI({ apiKey: "sim", baseURL: sim.url, maxRetries: 0 }));
  } finally {
    await sim.close();
  }
}

async function chunksOf(stream: AsyncIterable<Chunk>): Promise<(Chunk & Extra)[]> {
  const out: (Chunk & Extra)[] = [];
  for await (const c of stream) out.push(c as Chunk & Extra);
  return out;
}

function deltas(chunks: Chunk[], field: "content" | "reasoning_content"): string {
  return chunks.map((c) => ((c.choices[0]?.delta ?? {}) as Record<string, unknown>)[field] ?? "").join("");
}

/** Server-side counters once the request's bookkeeping has landed. */
async function statsWhen(sim: Simulator, ok: (s: StatsSnapshot) => boolean): Promise<StatsSnapshot> {
  for (let i = 0; i < 100; i++) {
    const s = sim.stats();
    if (ok(s)) return s;
    await new Promise((r) => setTimeout(r, 10));
  }
  return sim.stats();
}

// ---------------------------------------------------------------------------------------------
// The flavors, as the official SDK sees them

Deno.test("deepseek: a reasoner streams reasoning_content first; completion_tokens include it", async () => {
  await withSim("deepseek", async (sim, client) => {
    const stream = await client.chat.completions.create({
      model: "deepseek-reasoner",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await chunksOf(stream);
    const reasoning = deltas(chunks, "reasoning_content");
    const content = deltas(chunks, "content");
    assert.match(reasoning, /^Simulated reasoning of deepseek-reasoner/);
    assert.ok(content.startsWith("[simulated deepseek-reasoner]"), content);
    const firstContent = chunks.findIndex((c) => c.choices[0]?.delta.content);
    const lastReasoning = chunks.findLastIndex((c) => (c.choices[0]?.delta as Extra).reasoning_content);
    assert.ok(lastReasoning < firstContent, "all reasoning before the answer");
    // Every chunk has usage: null except the finish chunk, which carries it.
    const finish = chunks.at(-1)!;
    assert.equal(finish.choices[0].finish_reason, "stop");
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
    const u = finish.usage as Extra["usage"];
    assert.ok(u);
    const r = tokenize(reasoning).length;
    const c = tokenize(content).length;
    assert.equal(u.completion_tokens, r + c, "completion_tokens INCLUDE reasoning");
    assert.equal(u.completion_tokens_details?.reasoning_tokens, r);
    assert.equal(u.total_tokens, u.prompt_tokens + r + c);
    assert.equal(u.prompt_cache_hit_tokens! + u.prompt_cache_miss_tokens!, u.prompt_tokens);
    assert.equal(sim.url.endsWith("/v1"), true);

    const full = await client.chat.completions.create({ model: "deepseek-reasoner", messages: HELLO });
    const message = full.choices[0].message as typeof full.choices[0]["message"] & Extra;
    assert.equal(message.content, content);
    assert.equal(message.reasoning_content, reasoning);
    assert.equal(full.usage?.completion_tokens, r + c);

    // deepseek-chat does not reason, and reports no completion_tokens_details.
    const chat = await client.chat.completions.create({ model: "deepseek-chat", messages: HELLO });
    assert.equal((chat.choices[0].message as Extra).reasoning_content, undefined);
    assert.equal(chat.usage?.completion_tokens, tokenize(chat.choices[0].message.content!).length);
    assert.equal(chat.usage?.completion_tokens_details, undefined);
  });
});

Deno.test("deepseek: a repeated prompt prefix is a cache hit, in 64-token blocks", async () => {
  await withSim("deepseek", async (_sim, client) => {
    const system = {
      role: "system" as const,
      content: "You answer questions about the NEXUS AI gateway. ".repeat(12),
    };
    const first = await client.chat.completions.create({
      model: "deepseek-chat",
      messages: [system, ...HELLO],
    });
    const u1 = first.usage as Extra["usage"];
    assert.equal(u1?.prompt_cache_hit_tokens, 0);
    assert.equal(u1?.prompt_tokens_details?.cached_tokens, 0);

    const again = await client.chat.completions.create({
      model: "deepseek-chat",
      messages: [system, ...HELLO],
    });
    const u2 = again.usage as Extra["usage"];
    assert.ok(u2);
    assert.ok(u2.prompt_cache_hit_tokens! > 0, "the whole prompt was seen");
    assert.equal(u2.prompt_cache_hit_tokens! % 64, 0);
    assert.ok(u2.prompt_tokens - u2.prompt_cache_hit_tokens! < 64 + 3, "all but the last partial block");
    assert.equal(u2.prompt_tokens_details?.cached_tokens, u2.prompt_cache_hit_tokens);
    assert.equal(u2.prompt_cache_miss_tokens, u2.prompt_tokens - u2.prompt_cache_hit_tokens!);

    // A follow-up turn reuses the same leading messages.
    const next = await client.chat.completions.create({
      model: "deepseek-chat",
      messages: [system, ...HELLO, { role: "assistant", content: "Hi." }, { role: "user", content: "More?" }],
    });
    assert.equal((next.usage as Extra["usage"])?.prompt_cache_hit_tokens, u2.prompt_cache_hit_tokens);
  });
});

Deno.test("deepseek: max_tokens bounds reasoning and answer together", async () => {
  await withSim("deepseek", async (_sim, client) => {
    const res = await client.chat.completions.create({
      model: "deepseek-reasoner",
      messages: HELLO,
      max_tokens: 5,
    });
    assert.equal(res.choices[0].finish_reason, "length");
    assert.equal(res.choices[0].message.content, "");
    assert.equal(res.usage?.completion_tokens, 5);
    assert.equal(res.usage?.completion_tokens_details?.reasoning_tokens, 5);
  });
});

Deno.test("xai: reasoning tokens are reported apart from completion_tokens", async () => {
  await withSim("xai", async (sim, client) => {
    const stream = await client.chat.completions.create({
      model: "grok-3-mini",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = await chunksOf(stream);
    const reasoning = deltas(chunks, "reasoning_content");
    const content = deltas(chunks, "content");
    assert.match(reasoning, /^Simulated reasoning of grok-3-mini/);
    assert.equal(chunks[0].choices[0].delta.role, "assistant", "the role comes with the first token");
    // The finish chunk, then a choices:[] usage chunk.
    assert.equal(chunks.at(-2)!.choices[0].finish_reason, "stop");
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    const u = last.usage as Extra["usage"];
    assert.ok(u);
    const r = tokenize(reasoning).length;
    const c = tokenize(content).length;
    assert.equal(u.completion_tokens, c, "completion_tokens EXCLUDE reasoning");
    assert.equal(u.completion_tokens_details?.reasoning_tokens, r);
    assert.equal(u.total_tokens, u.prompt_tokens + c + r);
    assert.ok(chunks.slice(0, -1).every((x) => x.usage === undefined), "no usage key before the end");

    // Without include_usage: no usage at all.
    const bare = await chunksOf(
      await client.chat.completions.create({ model: "grok-3-mini", messages: HELLO, stream: true }),
    );
    assert.ok(bare.every((x) => !x.usage));

    // grok-4 reasons without sending the text, and still reports (bills) the tokens.
    const g4 = await client.chat.completions.create({ model: "grok-4", messages: HELLO });
    assert.equal((g4.choices[0].message as Extra).reasoning_content, undefined);
    assert.ok(g4.usage!.completion_tokens_details!.reasoning_tokens! > 0);
    assert.equal(g4.usage!.completion_tokens, tokenize(g4.choices[0].message.content!).length);
    const g3 = await client.chat.completions.create({ model: "grok-3", messages: HELLO });
    assert.equal(g3.usage!.completion_tokens_details!.reasoning_tokens, 0);

    // A repeated prompt is served from the cache.
    const again = await client.chat.completions.create({ model: "grok-3", messages: HELLO });
    assert.equal(again.usage!.prompt_tokens_details!.cached_tokens, again.usage!.prompt_tokens - 3);
    const res = await fetch(`${sim.url}/models`, { headers: { authorization: "Bearer x" } });
    assert.equal(res.headers.get("x-simulated-provider"), "xai");
    assert.deepEqual((await res.json()).data.map((m: { id: string }) => m.id), [
      "grok-4",
      "grok-3",
      "grok-3-mini",
    ]);
  });
});

Deno.test("perplexity: citations and a running usage total on every chunk, no [DONE]", async () => {
  await withSim("perplexity", async (sim, client) => {
    const chunks = await chunksOf(
      await client.chat.completions.create({ model: "sonar", messages: HELLO, stream: true }),
    );
    assert.ok(chunks.length > 3);
    assert.ok(chunks.every((c) => c.citations?.length === 3 && c.search_results?.length === 3));
    assert.ok(chunks.every((c) => c.choices[0].delta.role === "assistant"));
    const totals = chunks.map((c) => (c.usage as Extra["usage"])!.completion_tokens);
    assert.deepEqual(totals, [...totals].sort((a, b) => a - b), "running totals only grow");
    const content = deltas(chunks, "content");
    assert.match(content, /\[1\]\[2\]$/, "citation markers");
    assert.equal(totals.at(-1), tokenize(content).length);
    const last = chunks.at(-1)!;
    assert.equal(last.object as string, "chat.completion.done");
    assert.equal(last.choices[0].finish_reason, "stop");

    const raw = await fetch(`${sim.url}/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer x", "content-type": "application/json" },
      body: JSON.stringify({ model: "sonar", messages: HELLO, stream: true }),
    });
    assert.equal(raw.headers.get("x-simulated-provider"), "perplexity");
    const text = await raw.text();
    assert.ok(!text.includes("[DONE]"), "sonar streams end without [DONE]");
    const rawChunks = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) =>
      JSON.parse(l.slice(6))
    );
    assert.ok(
      rawChunks.slice(0, -1).every((c) => !("finish_reason" in c.choices[0])),
      "no finish_reason key before the end",
    );

    const full = await client.chat.completions.create({ model: "sonar", messages: HELLO });
    assert.equal(full.choices[0].message.content, content);
    assert.equal((full as typeof full & Extra).citations?.[0], "https://sources.simulator.invalid/1");
    assert.equal(full.usage?.completion_tokens, totals.at(-1));
  });
});

Deno.test("perplexity: turns that do not alternate are a 400, as Perplexity answers; our adapter's are not", async () => {
  await withSim("perplexity", async (sim, client) => {
    const refusedTurns: OpenAI.Chat.ChatCompletionMessageParam[][] = [
      [{ role: "user", content: "Hello!" }, { role: "user", content: "Anyone?" }],
      [{ role: "user", content: "a" }, { role: "system", content: "late" }, { role: "user", content: "b" }],
      [{ role: "system", content: "s" }, { role: "assistant", content: "Hi" }, {
        role: "user",
        content: "b",
      }],
      [{ role: "user", content: "a" }, { role: "assistant", content: "x" }, {
        role: "assistant",
        content: "y",
      }, {
        role: "user",
        content: "b",
      }],
    ];
    for (const messages of refusedTurns) {
      const err = await client.chat.completions.create({ model: "sonar", messages }).catch((e) => e);
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.status, 400);
      assert.deepEqual(err.error, {
        message: "After the (optional) system message(s), user and assistant roles should be alternating.",
        type: "invalid_message",
        code: 400,
      });
    }
    const ok = await client.chat.completions.create({
      model: "sonar",
      messages: [
        { role: "system", content: "s1" },
        { role: "system", content: "s2" },
        { role: "user", content: "a" },
        { role: "assistant", content: "x" },
        { role: "user", content: "b" },
      ],
    });
    assert.equal(ok.choices[0].finish_reason, "stop");

    // The same refused turns, sent by our adapter, are reshaped into turns Perplexity takes.
    for (const messages of refusedTurns) {
      const { url, init } = perplexityAdapter.buildRequest(
        { model: chatModel("perplexity", "sonar"), messages: messages as never, maxOutputTokens: 50 },
        { baseUrl: sim.url, apiKey: "k" },
        true,
      );
      const res = await fetch(url, init);
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal((await collect(perplexityAdapter.parseStream(res.body!))).finishReason, "stop");
    }
  });
});

Deno.test("xai: the reasoning models refuse stop with a 400, as xAI answers; grok-3 takes it", async () => {
  await withSim("xai", async (_sim, client) => {
    for (const model of ["grok-3-mini", "grok-4-0709"]) {
      const err = await client.chat.completions.create({ model, messages: HELLO, stop: ["END"] }).catch((e) =>
        e
      );
      assert.ok(err instanceof OpenAI.BadRequestError, `${model}: ${err}`);
      // xAI's error body is {"code","error"}: the SDK reads its `error`, the message.
      assert.equal(err.status, 400);
      assert.equal(err.error, "Argument not supported on this model: stop");
      const ok = await client.chat.completions.create({ model, messages: HELLO });
      assert.equal(ok.choices[0].finish_reason, "stop");
    }
    const grok3 = await client.chat.completions.create({ model: "grok-3", messages: HELLO, stop: ["said"] });
    assert.equal(grok3.choices[0].finish_reason, "stop");
  });
});

Deno.test("mistral: max_tokens only; stream_options and max_completion_tokens are 422s", async () => {
  await withSim("mistral", async (_sim, client) => {
    for (
      const extra of [
        { max_completion_tokens: 10 },
        { stream: true as const, stream_options: { include_usage: true } },
      ]
    ) {
      const err = await client.chat.completions.create({
        model: "mistral-small-latest",
        messages: HELLO,
        ...extra,
      })
        .then(() => assert.fail("expected a 422"), (e) => e);
      assert.ok(err instanceof OpenAI.UnprocessableEntityError, String(err));
      assert.equal(err.status, 422);
      assert.match(err.message, /Extra inputs are not permitted/);
    }
    // Usage always comes on the finish chunk, without asking.
    const chunks = await chunksOf(
      await client.chat.completions.create({
        model: "mistral-small-latest",
        messages: HELLO,
        stream: true,
        max_tokens: 8,
      }),
    );
    const last = chunks.at(-1)!;
    assert.equal(last.choices[0].finish_reason, "length");
    assert.equal(last.usage?.completion_tokens, 8);
    assert.ok(chunks.slice(0, -1).every((c) => c.usage === undefined));
  });
});

Deno.test("mistral: magistral thinks in typed content chunks that completion_tokens counts", async () => {
  await withSim("mistral", async (_sim, client) => {
    const chunks = await chunksOf(
      await client.chat.completions.create({
        model: "magistral-medium-latest",
        messages: HELLO,
        stream: true,
      }),
    );
    let thinking = "";
    let text = "";
    for (const c of chunks) {
      const content = c.choices[0]?.delta.content as unknown;
      if (typeof content === "string") text += content;
      else if (Array.isArray(content)) {
        for (const part of content) {
          assert.equal(part.type, "thinking");
          thinking += part.thinking.map((t: { text: string }) => t.text).join("");
        }
      }
    }
    assert.match(thinking, /^Simulated reasoning of magistral-medium-latest/);
    assert.ok(text.startsWith("[simulated magistral-medium-latest]"));
    assert.equal(chunks.at(-1)!.usage?.completion_tokens, tokenize(thinking).length + tokenize(text).length);

    const full = await client.chat.completions.create({ model: "magistral-medium-latest", messages: HELLO });
    const parts = full.choices[0].message.content as unknown as { type: string }[];
    assert.deepEqual(parts.map((p) => p.type), ["thinking", "text"]);
  });
});

Deno.test("faults in a flavor: a cut stream counts reasoning tokens as streamed tokens", async () => {
  await withSim("deepseek", async (sim, client) => {
    sim.faults.set({ mode: "cut_stream", afterTokens: 3 });
    const stream = await client.chat.completions.create({
      model: "deepseek-reasoner",
      messages: HELLO,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: (Chunk & Extra)[] = [];
    const err = await (async () => {
      for await (const c of stream) chunks.push(c as Chunk & Extra);
    })().then(() => undefined, (e) => e);
    assert.ok(err instanceof Error, String(err));
    assert.equal(tokenize(deltas(chunks, "reasoning_content")).length, 3);
    assert.equal(deltas(chunks, "content"), "");
    assert.ok(chunks.every((c) => !c.usage && !c.choices[0]?.finish_reason));

    sim.faults.set({ mode: "rate_limit", retryAfterSeconds: 0 });
    const e429 = await client.chat.completions.create({ model: "deepseek-chat", messages: HELLO }).catch((
      e,
    ) => e);
    assert.ok(e429 instanceof OpenAI.RateLimitError);
    assert.equal((await statsWhen(sim, (s) => s.streams.cut === 1)).streams.cut, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// Our adapters against the simulated providers

function chatModel(provider: string, apiModel: string): ChatModel {
  return {
    id: `${provider}-${apiModel}`.toLowerCase().replace(/[^a-z0-9.\-]/g, "-"),
    provider,
    vendor: provider,
    name: apiModel,
    apiModel,
    capabilities: ["chat"],
    contextWindow: 128_000,
    maxOutputTokens: 8_192,
    pricing: {
      unit: "tokens",
      inputPerMTok: "1",
      outputPerMTok: "2",
      source: "https://example.com",
      asOf: "2025-01-01",
    },
    quality: {},
    tiers: ["free"],
  };
}

interface RawUsage {
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number };
  completion_tokens_details?: { reasoning_tokens?: number };
  prompt_cache_hit_tokens?: number;
}

/** The last usage object the raw SSE body carried (top-level), as the simulator reported it. */
function lastRawUsage(sse: string): RawUsage | undefined {
  let usage: RawUsage | undefined;
  for (const line of sse.split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    const chunk = JSON.parse(line.slice(6));
    if (chunk.usage) usage = chunk.usage;
  }
  return usage;
}

/** The billed usage the provider's own rules give for its raw usage object. */
function billed(flavor: OpenAIFlavorName, u: RawUsage): Usage {
  const reasoning = u.completion_tokens_details?.reasoning_tokens ?? 0;
  return {
    inputTokens: u.prompt_tokens,
    outputTokens: flavor === "xai" ? u.completion_tokens + reasoning : u.completion_tokens,
    cachedInputTokens: u.prompt_cache_hit_tokens ?? u.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: reasoning,
  };
}

const CASES: { flavor: OpenAIFlavorName; provider: string; adapter: ProviderAdapter; model: string }[] = [
  { flavor: "openai", provider: "openai", adapter: openaiAdapter(), model: "gpt-4o-mini" },
  { flavor: "deepseek", provider: "deepseek", adapter: deepseekAdapter, model: "deepseek-reasoner" },
  { flavor: "deepseek", provider: "deepseek", adapter: deepseekAdapter, model: "deepseek-chat" },
  { flavor: "xai", provider: "xai", adapter: xaiAdapter, model: "grok-3-mini" },
  { flavor: "xai", provider: "xai", adapter: xaiAdapter, model: "grok-4" },
  { flavor: "perplexity", provider: "perplexity", adapter: perplexityAdapter, model: "sonar" },
  { flavor: "mistral", provider: "mistral", adapter: mistralAdapter, model: "magistral-medium-latest" },
  { flavor: "mistral", provider: "mistral", adapter: mistralAdapter, model: "mistral-small-latest" },
  // Served by the default dialect, as the stack does for these providers.
  { flavor: "openai", provider: "groq", adapter: groqAdapter, model: "llama-3.3-70b-versatile" },
  { flavor: "openai", provider: "dashscope", adapter: dashscopeAdapter, model: "qwen-plus" },
  { flavor: "openai", provider: "local", adapter: localAdapter, model: "llama3.2" },
];

for (const c of CASES) {
  Deno.test(`adapter ${c.provider} × simulated ${c.flavor} (${c.model}): usage as reported and counted`, async () => {
    await withSim(c.flavor, async (sim) => {
      const system = {
        role: "system" as const,
        content: "Keep answers short and precise, please. ".repeat(12),
      };
      const req: ProviderRequest = {
        model: chatModel(c.provider, c.model),
        messages: [system, { role: "user", content: "Hello!" }],
        maxOutputTokens: 500,
      };
      const endpoint = { baseUrl: sim.url, apiKey: "k" };
      const results = [];
      // Twice each, so flavors with a prompt cache report hits the second time.
      for (const stream of [true, true, false]) {
        const before = sim.stats();
        const { url, init } = c.adapter.buildRequest(req, endpoint, stream);
        const res = await fetch(url, init);
        assert.equal(res.status, 200, await res.clone().text());
        let got, raw: RawUsage | undefined;
        if (stream) {
          const [mine, copy] = res.body!.tee();
          const [completion, text] = await Promise.all([
            collect(c.adapter.parseStream(mine)),
            new Response(copy).text(),
          ]);
          got = completion;
          raw = lastRawUsage(text);
        } else {
          const body = await res.json();
          got = c.adapter.parseResponse(body);
          raw = body.usage;
        }
        assert.ok(raw, "the simulator reported usage");
        assert.deepEqual(got.usage, billed(c.flavor, raw), `stream=${stream}`);
        // …and that is exactly what the simulator generated: prompt, reasoning + answer.
        const after = await statsWhen(sim, (s) => s.tokens.completion > before.tokens.completion);
        assert.equal(got.usage!.inputTokens, after.tokens.prompt - before.tokens.prompt);
        assert.equal(got.usage!.outputTokens, after.tokens.completion - before.tokens.completion);
        assert.equal(got.finishReason, "stop");
        assert.ok(got.text.startsWith(`[simulated ${c.model}]`), got.text);
        results.push(got);
      }
      const [first, second, plain] = results;
      assert.equal(second.text, first.text);
      assert.equal(plain.text, first.text);
      assert.equal(plain.reasoning, first.reasoning);
      const reasons = ["deepseek-reasoner", "grok-3-mini", "magistral-medium-latest"].includes(c.model);
      if (reasons) assert.match(first.reasoning ?? "", /^Simulated reasoning of/);
      else assert.equal(first.reasoning, null);
      if (c.model === "grok-3-mini" || c.model === "grok-4") {
        assert.ok(first.usage!.reasoningTokens! > 0);
        assert.equal(first.usage!.outputTokens, tokenize(first.text).length + first.usage!.reasoningTokens!);
      }
      if (c.flavor === "deepseek" || c.flavor === "xai") {
        assert.equal(first.usage!.cachedInputTokens, 0);
        assert.ok(second.usage!.cachedInputTokens! > 0, "cache hit on the repeat");
      }
      if (c.flavor === "perplexity") {
        assert.deepEqual(first.citations, [1, 2, 3].map((n) => `https://sources.simulator.invalid/${n}`));
        assert.deepEqual(plain.citations, first.citations);
      }
    });
  });
}

Deno.test("the OpenAI request shape is refused by simulated Mistral (why the flavor matters)", async () => {
  await withSim("mistral", async (sim) => {
    const req = {
      model: chatModel("mistral", "mistral-small-latest"),
      messages: HELLO as never,
      maxOutputTokens: 50,
    };
    const { url, init } = openaiAdapter().buildRequest(req, { baseUrl: sim.url, apiKey: "k" }, true);
    const res = await fetch(url, init);
    assert.equal(res.status, 422);
    const body = await res.json();
    assert.deepEqual(body.message.detail.map((d: { loc: string[] }) => d.loc[1]), [
      "max_completion_tokens",
      "stream_options",
    ]);
  });
});
