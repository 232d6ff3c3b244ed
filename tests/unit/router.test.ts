// The smart router: every hard constraint with crafted requests, determinism, preferences,
// multilingual intent, and the evaluation tool (scripts/router/eval.ts) end to end.
//
// Constraints are checked here independently of the ranking (capabilities, tier, the worst case
// recomputed with worst-case.ts, the context window), and each test first asserts what makes it
// meaningful (the classification, or that the constraint actually excluded something).

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CHAT_MODELS,
  type ChatModel,
  isShutDown,
  type ModelEntry,
} from "../../supabase/functions/_shared/catalog/index.ts";
import { toUnits } from "../../supabase/functions/_shared/money.ts";
import { breakerFor } from "../../supabase/functions/_shared/resilience/breaker.ts";
import {
  decide,
  fallbackModelsFor,
  planAllows,
  type RouteDecision,
  type RouteRequest,
  servableCheck,
} from "../../supabase/functions/_shared/router/index.ts";
import { estimatePromptTokens } from "../../supabase/functions/_shared/tokens.ts";
import { outputBudget, worstCaseCost } from "../../supabase/functions/_shared/worst-case.ts";
import { heldOutItems, isHeldOut } from "../../scripts/router/data.ts";
import { violations } from "../../scripts/router/eval.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** As deployed with every provider configured (the evaluation tool's rule). */
const deployed = (m: ModelEntry) => !isShutDown(m) && m.provider !== "local";
/** Everything in the catalog, retired or not: to see a pool the deployment leaves empty. */
const everything = () => true;
const PLANS = {
  free: { tier: "free", maxCostPerRequest: "0.01" },
  pro: { tier: "pro", maxCostPerRequest: "0.10" },
  team: { tier: "team", maxCostPerRequest: "1.00" },
  enterprise: { tier: "enterprise", maxCostPerRequest: null },
} as const;
type Plan = NonNullable<RouteRequest["plan"]>;

const has = (m: ModelEntry, capability: string) => (m.capabilities as readonly string[]).includes(capability);
const ask = (content: string, extra: Partial<RouteRequest> = {}): RouteRequest => ({
  messages: [{ role: "user", content }],
  isAvailable: deployed,
  ...extra,
});
const IMAGE = { type: "image", mimeType: "image/png", name: "photo.png" };

/** The worst case of a chosen model for a request, recomputed without the router. */
function worstCase(request: RouteRequest, m: ModelEntry): bigint {
  if (m.pricing.unit !== "tokens") return toUnits(m.pricing.perUnit);
  const model = m as ChatModel;
  return toUnits(
    worstCaseCost(model, estimatePromptTokens(request.messages), outputBudget(model, request.maxTokens)),
  );
}

/** The plan's rules on the chosen model, checked independently of `planAllows`. */
function assertWithinPlan(request: RouteRequest, d: RouteDecision, plan: Plan) {
  if (!d.chosen) return;
  const m = d.chosen.model;
  assert.ok((m.tiers as readonly string[]).includes(plan.tier), `${m.id} is not in the ${plan.tier} tier`);
  if (plan.maxCostPerRequest !== null) {
    assert.ok(worstCase(request, m) <= toUnits(plan.maxCostPerRequest), `${m.id} over the ${plan.tier} cap`);
  }
}

const HIGH_MATH =
  "Prove that every finite group of order p^2, where p is prime, is abelian. Give a rigorous proof using the class equation.";

Deno.test("an attached image: only vision models, whatever the words say", () => {
  for (
    const request of [
      ask("What is in this picture?", { attachments: [IMAGE] }),
      // a screenshot of code is still a vision request
      ask("Find the bug in the function in this screenshot", { attachments: [IMAGE] }),
      // recognized by its MIME type alone
      ask("Describe this", { attachments: [{ type: "file", mimeType: "image/jpeg" }] }),
    ]
  ) {
    for (const plan of [PLANS.free, PLANS.pro]) {
      const d = decide({ ...request, plan });
      assert.ok(d.intent === "vision" || d.intent === "image_generation", d.intent);
      assert.ok(d.required.includes("vision"));
      assert.ok(d.ranked.length > 0 && d.chosen, "some vision model serves it");
      for (const r of d.ranked) assert.ok(has(r.model, "vision"), `${r.model.id} ranked without vision`);
      assertWithinPlan(request, d, plan);
    }
  }
  // without the image the same words may go anywhere: the pool was really narrowed
  const plain = decide(ask("Find the bug in the function in this screenshot"));
  assert.ok(plain.ranked.some((r) => !has(r.model, "vision")));
});

Deno.test("a request read as image generation is answered in text by a chat model, ranked for its next reading", () => {
  // Nothing serves image generation yet, and many of these want text: none is refused, none is
  // sent to an image model, and the reason says how it is answered.
  for (
    const content of [
      "Make a summary",
      "Draw conclusions from the data above",
      "Generate a color palette as hex codes",
      "Draw an ASCII art cat",
      "Draw a UML sequence diagram in mermaid",
      "Create an SVG icon of a house",
      "Draw a watercolor illustration of a red fox sleeping in a snowy forest.",
    ]
  ) {
    for (const isAvailable of [deployed, everything]) {
      const d = decide(ask(content, { isAvailable, plan: PLANS.free }));
      assert.equal(d.intent, "image_generation", content); // the reading is kept (and evaluated)
      assert.notEqual(d.answeredAs, "image_generation", content);
      assert.ok(!d.required.includes("image_generation"), content);
      assert.ok(d.chosen, `${content}: a chat model answers`);
      for (const r of d.ranked) {
        assert.ok(has(r.model, "chat") && !has(r.model, "image_generation"), r.model.id);
      }
      assert.equal(d.chosen.quality, d.chosen.model.quality[d.answeredAs] ?? d.chosen.model.quality.general);
      assert.match(d.reason, /image generation is not served yet, so it is answered in text as/);
    }
  }
});

Deno.test("research prefers web-search models, within the plan", () => {
  for (
    const content of [
      "What are the latest news headlines today about the stock market?",
      "Who won the Formula 1 race last weekend?",
    ]
  ) {
    for (const plan of [PLANS.free, PLANS.pro]) {
      const request = ask(content, { plan });
      const d = decide(request);
      assert.equal(d.intent, "research", content);
      assert.ok(d.required.includes("web_search"));
      assert.ok(d.chosen && has(d.chosen.model, "web_search"), "a search model fits the plan");
      const firstWithout = d.ranked.findIndex((r) => !has(r.model, "web_search"));
      assert.ok(firstWithout > 0, "search models first, then the others");
      assert.ok(d.ranked.slice(firstWithout).every((r) => !has(r.model, "web_search")));
      assertWithinPlan(request, d, plan);
      assert.doesNotMatch(d.reason, /without live search/);
    }
  }
});

Deno.test("research without a web-search model that can take it: the best model that fits, saying so", () => {
  const content = "What are the latest news headlines today about the stock market?";
  const noSearch = "without live search";
  // Perplexity not configured, or its circuit open
  const d1 = decide(
    ask(content, { plan: PLANS.pro, isAvailable: (m) => deployed(m) && m.provider !== "perplexity" }),
  );
  // a ~900-token prompt on the free plan: Sonar's worst case is over the $0.01 cap
  const context = { role: "system" as const, content: "Answer briefly and cite sources. ".repeat(110) };
  const request = { ...ask(content, { plan: PLANS.free }), messages: [context, ...ask(content).messages] };
  const d2 = decide(request);
  assert.ok(estimatePromptTokens(request.messages) > 800);
  assert.ok(d2.ranked.some((r) => has(r.model, "web_search")), "search models were ranked");
  assert.ok(d2.ranked.filter((r) => has(r.model, "web_search")).every((r) => !planAllows(PLANS.free, r)));
  // a request that asks what no search model takes (a reasoning effort, a JSON object)
  const d3 = decide(
    ask(content, { plan: PLANS.pro, isAvailable: (m) => deployed(m) && !has(m, "web_search") }),
  );
  for (const [d, req] of [[d1, ask(content)], [d2, request], [d3, ask(content)]] as const) {
    assert.equal(d.intent, "research");
    assert.ok(d.required.includes("web_search"));
    assert.ok(d.chosen, "answered, not refused");
    assert.ok(!has(d.chosen.model, "web_search"));
    assert.match(d.reason, new RegExp(noSearch));
    assertWithinPlan(req, d, d === d2 ? PLANS.free : PLANS.pro);
    assert.deepEqual(
      violations(
        { id: "x", messages: req.messages, intent: "research" } as never,
        d,
        d === d2 ? PLANS.free : PLANS.pro,
      ),
      [],
    );
  }
});

Deno.test("hard maths: a reasoning model when the plan allows one, otherwise the best that fits", () => {
  for (const plan of [PLANS.free, PLANS.pro, PLANS.enterprise]) {
    const request = ask(HIGH_MATH, { plan });
    const d = decide(request);
    assert.equal(d.intent, "math");
    assert.equal(d.complexity, "high");
    assert.ok(d.required.includes("reasoning"));
    assert.ok(d.chosen && has(d.chosen.model, "reasoning"), `${plan.tier}: ${d.chosen?.model.id}`);
    assertWithinPlan(request, d, plan);
  }
  // On free, asking for a long answer puts every reasoning model's worst case over $0.01:
  // the router still answers, with a model that fits, instead of breaking the cap.
  const request = ask(HIGH_MATH, { plan: PLANS.free, maxTokens: 30_000 });
  const d = decide(request);
  assert.ok(d.required.includes("reasoning"));
  assert.ok(d.ranked.some((r) => has(r.model, "reasoning")), "reasoning models exist for it");
  assert.ok(
    !d.ranked.some((r) => has(r.model, "reasoning") && planAllows(PLANS.free, r)),
    "none fits the cap",
  );
  assert.ok(d.chosen, "a non-reasoning model fits");
  assert.ok(!has(d.chosen.model, "reasoning"));
  assertWithinPlan(request, d, PLANS.free);
});

Deno.test("a huge prompt: only models whose context window holds it", () => {
  const line =
    "2026-11-02T10:14:07Z api-7 ERROR upstream timeout after 30000 ms on /v1/orders (retry 3 of 3)\n";
  const request = ask(
    "Summarize this server log and list the three most frequent errors:\n" + line.repeat(13_000),
  );
  const tokens = estimatePromptTokens(request.messages);
  assert.ok(tokens > 250_000, `${tokens} tokens`);
  const d = decide({ ...request, plan: PLANS.enterprise });
  assert.ok(d.required.includes("long_context"));
  assert.ok(d.chosen, "a long-context model serves it");
  for (const r of d.ranked) {
    const m = r.model as ChatModel;
    assert.ok(tokens + outputBudget(m) <= m.contextWindow, `${m.id} (${m.contextWindow}) cannot hold it`);
  }
  const excluded = CHAT_MODELS.filter((m) => deployed(m) && !d.ranked.some((r) => r.model.id === m.id));
  assert.ok(excluded.some((m) => m.contextWindow >= 128_000), "128k and 200k windows were excluded");
  // on free nothing that holds it fits $0.01: no choice rather than a broken cap
  assert.equal(decide({ ...request, plan: PLANS.free }).chosen, null);
});

Deno.test("the free plan: never a model outside the tier or over $0.01 at worst case", () => {
  const requests = [
    ask("Refactor this 400-line React component into hooks and explain every change in depth."),
    ask(HIGH_MATH),
    ask("Write a sonnet about the sea."),
    ask("What is the capital of Australia?"),
    ask("Summarize: " + "The council met to discuss the budget. ".repeat(300)),
    ...heldOutItems().map((item) => ({ ...item, isAvailable: deployed })),
  ];
  let planMattered = 0;
  for (const request of requests) {
    for (const preference of ["balanced", "cheapest", "best"] as const) {
      const d = decide({ ...request, preference, plan: PLANS.free });
      assertWithinPlan(request, d, PLANS.free);
      if (d.ranked[0] && !planAllows(PLANS.free, d.ranked[0])) planMattered++;
    }
  }
  assert.ok(planMattered > 10, "the plan excluded the router's first choice often");
  // the best model for hard code is outside the free tier or over its cap: it is passed over
  const request = ask("Refactor this 400-line React component into hooks and explain every change in depth.");
  const d = decide({ ...request, preference: "best", plan: PLANS.free });
  const at = d.ranked.findIndex((r) => r.model.id === d.chosen?.model.id);
  assert.ok(at > 0);
  assert.ok(d.ranked.slice(0, at).some((r) => !(r.model.tiers as readonly string[]).includes("free")));
  assert.ok(d.ranked.slice(0, at).some((r) => worstCase(request, r.model) > toUnits("0.01")));
});

Deno.test("a provider whose circuit is open is never chosen", () => {
  const prompts = [
    "What is in this picture?",
    HIGH_MATH,
    "What are the latest news headlines today?",
    "Write a Python function that parses an ISO 8601 date.",
    "Write a haiku about autumn.",
  ];
  let rerouted = 0;
  for (const content of prompts) {
    const attachments = content.includes("picture") ? [IMAGE] : [];
    const before = decide(ask(content, { attachments, plan: PLANS.pro }));
    assert.ok(before.chosen);
    const open = before.chosen.model.provider;
    const after = decide(
      ask(content, { attachments, plan: PLANS.pro, isAvailable: (m) => deployed(m) && m.provider !== open }),
    );
    assert.ok(after.ranked.every((r) => r.model.provider !== open), `${open} still ranked`);
    // another provider's model, or none when only that provider can serve it (web search)
    if (after.chosen) rerouted++;
    else assert.ok(before.required.length > 0, `${content}: nothing else serves it?`);
  }
  assert.ok(rerouted >= 4, "most requests go to another provider");
});

Deno.test("the default availability skips a provider whose breaker is open", async () => {
  // Configure every provider for this test only, then open one real breaker.
  const keys = [
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
  ]
    .map((p) => `${p}_API_KEY`);
  const saved = new Map(keys.map((k) => [k, Deno.env.get(k)]));
  for (const k of keys) Deno.env.set(k, "test-key");
  try {
    const request = {
      messages: [{ role: "user" as const, content: "Write a Python function that parses an ISO 8601 date." }],
    };
    const before = decide(request);
    assert.ok(before.chosen);
    const provider = before.chosen.model.provider;
    const breaker = breakerFor(provider, { threshold: 1, openMs: 50 });
    while (breaker.state === "closed") breaker.failure(breaker.allows()!);
    try {
      assert.equal(breaker.state, "open");
      const during = decide(request);
      assert.ok(during.ranked.every((r) => r.model.provider !== provider));
      assert.ok(during.chosen);
    } finally {
      // closed again the only way there is: a probe, once the circuit half-opens, that succeeds
      while (breaker.state === "open") await new Promise((r) => setTimeout(r, 10));
      breaker.success(breaker.allows()!);
    }
    assert.equal(decide(request).chosen?.model.id, before.chosen.model.id, "back once it closes");
  } finally {
    for (const [k, v] of saved) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
  }
});

Deno.test("deterministic: the same input gives the same ranking, twice and after other calls", () => {
  const requests = [
    ask(HIGH_MATH, { plan: PLANS.pro }),
    ask("What is in this picture?", { attachments: [IMAGE], plan: PLANS.free }),
    ask("Write a haiku about autumn.", { preference: "cheapest" }),
    ask("Latest price of bitcoin today?", { preference: "best", plan: PLANS.team }),
  ];
  const snapshot = (d: RouteDecision) =>
    JSON.stringify({
      ...d,
      ranked: d.ranked.map((r) => [r.model.id, r.worstCaseCost, r.expectedCost, r.quality, r.goodEnough]),
      chosen: d.chosen?.model.id,
    });
  const first = requests.map((r) => snapshot(decide(r)));
  assert.deepEqual(requests.map((r) => snapshot(decide(r))), first);
  for (const item of heldOutItems().slice(0, 30)) decide({ ...item, preference: "best" });
  assert.deepEqual([...requests].reverse().map((r) => snapshot(decide(r))).reverse(), first);
});

Deno.test("preferences: cheapest never costs more than balanced, best never rates lower", () => {
  const requests = [
    ask(HIGH_MATH),
    ask("Write a haiku about autumn."),
    ask("Explain the CAP theorem with examples."),
    ...heldOutItems().map((item) => ({ ...item, isAvailable: deployed })),
  ];
  let differed = 0;
  for (const request of requests) {
    for (const plan of [PLANS.free, PLANS.pro, PLANS.enterprise]) {
      const [balanced, cheapest, best] = (["balanced", "cheapest", "best"] as const)
        .map((preference) => decide({ ...request, preference, plan }).chosen);
      if (!balanced) continue;
      assert.ok(cheapest && best);
      assert.ok(
        toUnits(cheapest.expectedCost) <= toUnits(balanced.expectedCost),
        `${cheapest.model.id} > ${balanced.model.id}`,
      );
      assert.ok(best.quality >= balanced.quality, `${best.model.id} < ${balanced.model.id}`);
      if (cheapest.model.id !== balanced.model.id || best.model.id !== balanced.model.id) differed++;
    }
  }
  assert.ok(differed > 10, "the preferences actually change choices");
});

// Clear prompts in several languages and scripts, classified by what they ask.
const MULTILINGUAL: [string, string][] = [
  ["code", "Schreibe eine Python-Funktion, die prüft, ob eine Zahl eine Primzahl ist."],
  ["code", "Écris une fonction Python qui vérifie si un nombre est premier."],
  ["code", "Escribe una función en Python que compruebe si un número es primo."],
  ["code", "Напиши функцию на Python, которая проверяет, является ли число простым."],
  ["code", "写一个Python函数，判断一个数是不是质数。"],
  ["code", "숫자가 소수인지 확인하는 파이썬 함수를 작성해 주세요."],
  ["math", "Löse die Gleichung 2x + 5 = 17."],
  ["math", "Resuelve la ecuación 2x + 5 = 17."],
  ["math", "Реши уравнение 2x + 5 = 17."],
  ["math", "解方程 2x + 5 = 17。"],
  ["math", "方程式 2x + 5 = 17 を解いてください。"],
  ["creative", "Schreibe ein Gedicht über den Mond."],
  ["creative", "Écris un poème sur la lune."],
  ["creative", "Напиши стихотворение о луне."],
  ["creative", "月についての詩を書いてください。"],
  ["creative", "달에 관한 시를 써 주세요."],
  ["analysis", "Übersetze diesen Satz ins Englische: Der Zug fährt um acht Uhr ab."],
  ["analysis", "Traduce esta frase al inglés: El tren sale a las ocho."],
  ["analysis", "Переведи на английский: Поезд отправляется в восемь часов."],
  ["research", "Was sind die neuesten Nachrichten von heute?"],
  ["research", "Quelles sont les dernières nouvelles aujourd'hui ?"],
  ["research", "¿Cuáles son las últimas noticias de hoy?"],

  ["code", "数が素数かどうかを判定するPythonの関数を書いてください。"],
  ["creative", "写一首关于月亮的诗。"],
  ["analysis", "Traduis cette phrase en anglais : Le train part à huit heures."],
  ["analysis", "把这句话翻译成英文：火车八点出发。"],
  ["analysis", "この文を英語に翻訳してください：電車は八時に出発します。"],
  ["research", "Какие новости сегодня?"],
  ["research", "今天的最新新闻是什么？"],
  ["research", "今日の最新ニュースは何ですか？"],
  ["research", "오늘의 최신 뉴스는 무엇인가요?"],
];

Deno.test("multilingual prompts are classified by intent, not by language", () => {
  // A statistical classifier: the bar is its held-out accuracy, not perfection.
  const wrong = MULTILINGUAL.map(([intent, content]) => [intent, decide(ask(content)).intent, content])
    .filter(([intent, got]) => intent !== got);
  assert.ok(wrong.length <= MULTILINGUAL.length * 0.15, `misread: ${JSON.stringify(wrong)}`);
  const languages = new Set(
    MULTILINGUAL.map(([, content]) =>
      content.match(/[\u0400-\u04ff]/)
        ? "cyrillic"
        : content.match(/[\u3040-\u9fff\uac00-\ud7af]/)
        ? "cjk"
        : "latin"
    ),
  );
  assert.ok(languages.size === 3, "several scripts are covered");
});

Deno.test("the evaluation's violation check catches a broken decision", () => {
  const item = {
    id: "t-1",
    messages: [{ role: "user" as const, content: "What is in this picture?" }],
    attachments: [IMAGE],
    intent: "vision",
  };
  const d = decide({ ...item, isAvailable: deployed, plan: PLANS.free });
  assert.deepEqual(violations(item, d, PLANS.free), []);
  const blind = decide(ask("What is the capital of Australia?", { plan: PLANS.free })).chosen!;
  assert.ok(!has(blind.model, "vision"));
  assert.ok(violations(item, { ...d, chosen: blind }, PLANS.free).length > 0, "a model without vision");
  const pricey = decide(ask(HIGH_MATH, { plan: PLANS.enterprise, preference: "best" })).chosen!;
  assert.ok(
    violations({ ...item, attachments: [] }, { ...d, required: [], chosen: pricey }, PLANS.free).length > 0,
    "a model over the free cap",
  );
});

Deno.test("the evaluation tool end to end: the contract's JSON on stdout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const user = (content: string) => [{ role: "user", content }];
    const items = [
      {
        id: "t-code",
        messages: user("Write a Python function that parses an ISO 8601 date."),
        intent: "code",
        complexity: "medium",
      },
      {
        id: "t-math",
        messages: user(HIGH_MATH),
        intent: "math",
        complexity: "high",
        requires: ["reasoning"],
      },
      {
        id: "t-vision",
        messages: user("What is in this picture?"),
        attachments: [IMAGE],
        intent: "vision",
        complexity: "low",
        requires: ["vision"],
      },
      {
        id: "t-news",
        messages: user("What are the latest news headlines today?"),
        intent: "research",
        complexity: "low",
        requires: ["web_search"],
      },
      {
        question_id: 999,
        category: "writing",
        turns: ["Write a haiku about autumn.", "Now make it sadder."],
      },
    ].map((x) => ({ attachments: [], requires: [], ...x }));
    const file = join(dir, "items.jsonl");
    await Deno.writeTextFile(file, items.map((x) => JSON.stringify(x)).join("\n") + "\n");

    const run = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--config",
          join(ROOT, "deno.json"),
          join(ROOT, "scripts/router/eval.ts"),
          ...args,
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      return {
        code: out.code,
        stdout: new TextDecoder().decode(out.stdout),
        stderr: new TextDecoder().decode(out.stderr),
      };
    };

    for (const tier of ["free", "pro"]) {
      const { code, stdout, stderr } = await run(file, "--tier", tier);
      assert.equal(code, 0, stderr);
      assert.equal(stdout.trim().split("\n").length, 1, "one JSON object, one line");
      const result = JSON.parse(stdout);
      for (
        const key of [
          "n",
          "accuracy",
          "macroF1",
          "perIntent",
          "confusion",
          "complexityAccuracy",
          "hardConstraintViolations",
          "capabilitySatisfiedRate",
          "costSavingVsPremium",
          "decisionMicros",
        ]
      ) assert.ok(key in result, `missing ${key}`);
      assert.equal(result.n, 5);
      assert.equal(result.tier, tier);
      assert.equal(result.hardConstraintViolations, 0);
      assert.equal(typeof result.complexityAccuracy, "number");
      assert.ok(result.decisionMicros.p50 > 0 && result.decisionMicros.p99 >= result.decisionMicros.p50);
      assert.ok(result.costSavingVsPremium >= 0 && result.costSavingVsPremium < 1);
      const confused = Object.values(result.confusion as Record<string, Record<string, number>>)
        .flatMap((row) => Object.values(row)).reduce((a, b) => a + b, 0);
      assert.equal(confused, 5);
      assert.ok(result.confusion.creative, "the MT-Bench writing line is labeled creative");
      const supports = Object.values(result.perIntent as Record<string, { support: number }>)
        .reduce((a, s) => a + s.support, 0);
      assert.equal(supports, 5);
    }

    // MT-Bench lines only: no complexity labels
    const mt = join(dir, "mt.jsonl");
    await Deno.writeTextFile(mt, JSON.stringify(items[4]) + "\n");
    const mtResult = JSON.parse((await run(mt)).stdout);
    assert.equal(mtResult.n, 1);
    assert.equal(mtResult.complexityAccuracy, null);

    // --split heldout keeps the held-out ids only
    const ids = Array.from({ length: 40 }, (_, i) => `d-${String(i + 1).padStart(4, "0")}`);
    const split = join(dir, "split.jsonl");
    await Deno.writeTextFile(split, ids.map((id) => JSON.stringify({ ...items[0], id })).join("\n"));
    const held = ids.filter(isHeldOut).length;
    assert.ok(held > 0 && held < ids.length);
    assert.equal(JSON.parse((await run(split, "--split", "heldout")).stdout).n, held);

    assert.equal((await run(file, "--tier", "gold")).code, 2, "an unknown tier is refused");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fallbacks: every model's list is what the rule gives, and follows the configuration", () => {
  const meanQuality = (m: ChatModel) => {
    const scores = Object.values(m.quality) as number[];
    return scores.reduce((a, b) => a + b, 0) / scores.length;
  };
  // The rule, computed here from scratch: capable of everything the model does; no pricier
  // (output price and request fee) first; then closest in mean quality, then cheaper (input +
  // output price), then by id.
  const fee = (m: ChatModel) => toUnits(m.pricing.requestFee ?? "0");
  const expected = (model: ChatModel, usable: (m: ModelEntry) => boolean) =>
    CHAT_MODELS.filter((m) =>
      m.id !== model.id && usable(m) && model.capabilities.every((c) => m.capabilities.includes(c))
    ).map((m) => ({
      id: m.id,
      pricier: toUnits(m.pricing.outputPerMTok) > toUnits(model.pricing.outputPerMTok) || fee(m) > fee(model),
      distance: Math.abs(meanQuality(m) - meanQuality(model)),
      price: toUnits(m.pricing.inputPerMTok) + toUnits(m.pricing.outputPerMTok),
    })).sort((a, b) =>
      Number(a.pricier) - Number(b.pricier) || a.distance - b.distance ||
      (a.price < b.price ? -1 : a.price > b.price ? 1 : 0) ||
      a.id.localeCompare(b.id)
    ).map((x) => x.id);
  const onlyOpenAI = (m: ModelEntry) => m.provider === "openai";
  for (const model of CHAT_MODELS) {
    for (let i = 0; i < 2; i++) { // the second time from the remembered order
      assert.deepEqual(
        fallbackModelsFor(model, deployed).map((m) => m.id),
        expected(model, deployed),
        model.id,
      );
      assert.deepEqual(fallbackModelsFor(model, onlyOpenAI).map((m) => m.id), expected(model, onlyOpenAI));
    }
  }
  // By default, what is servable when asked: a provider whose key appears is used from then on.
  const saved = Deno.env.get("XAI_API_KEY");
  const gpt = CHAT_MODELS.find((m) => m.id === "gpt-4o-mini")!;
  try {
    Deno.env.delete("XAI_API_KEY");
    assert.ok(!servableCheck()(CHAT_MODELS.find((m) => m.provider === "xai")!));
    assert.ok(fallbackModelsFor(gpt).every((m) => m.provider !== "xai"));
    Deno.env.set("XAI_API_KEY", "test-key");
    assert.ok(servableCheck()(CHAT_MODELS.find((m) => m.provider === "xai" && !isShutDown(m))!));
    assert.ok(fallbackModelsFor(gpt).some((m) => m.provider === "xai"));
  } finally {
    saved === undefined ? Deno.env.delete("XAI_API_KEY") : Deno.env.set("XAI_API_KEY", saved);
  }
});

Deno.test("only a confident reading counts as image generation; text it cannot place is read as something else", () => {
  for (const content of ["Draw a cat wearing a hat", "Generate an image of a sunset over mountains"]) {
    const d = decide({ messages: [{ role: "user", content }], isAvailable: () => true });
    assert.equal(d.intent, "image_generation", content);
  }
  // strings the classifier reads as image generation, with little confidence (found by sampling)
  for (
    const content of ["Soak 0.02833010899731525", "Soak 0.06735618745618677", "Soak 0.20246152604606082"]
  ) {
    const d = decide({ messages: [{ role: "user", content }], isAvailable: () => true });
    assert.notEqual(d.intent, "image_generation", content);
    assert.ok(
      d.ranked.length > 0 && d.ranked.every((r) => r.model.capabilities.includes("chat" as never)),
      content,
    );
  }
});

Deno.test("fallbacks of an explicitly chosen model: those no pricier than it come first", () => {
  const output = (m: ChatModel) => toUnits(m.pricing.outputPerMTok);
  // Closest in quality, Claude Haiku 4.5 came first for both (2× and 8.3× their output price).
  for (
    const [id, first] of [["gemini-2.5-flash", "gemini-2.5-flash-lite"], ["gpt-oss-120b", "grok-3-mini"]]
  ) {
    const model = CHAT_MODELS.find((m) => m.id === id)!;
    const list = fallbackModelsFor(model, deployed);
    const cheap = list.filter((m) => output(m) <= output(model) && !m.pricing.requestFee);
    assert.ok(cheap.length > 0 && list.length > cheap.length, "both kinds are there");
    assert.deepEqual(list.slice(0, cheap.length), cheap, "the no-pricier ones first");
    assert.equal(list[0].id, first);
  }
  for (const model of CHAT_MODELS) {
    const order = fallbackModelsFor(model, deployed);
    const firstPricier = order.findIndex((m) => output(m) > output(model));
    if (firstPricier >= 0) {
      assert.ok(
        order.slice(firstPricier).every((m) => output(m) > output(model) || m.pricing.requestFee),
        model.id,
      );
    }
  }
});

Deno.test("decide() reads the prompt's size once, and not at all when the caller gives it", () => {
  let reads = 0;
  const system = {
    role: "system" as const,
    get content() {
      reads++;
      return "You are a helpful assistant.";
    },
  };
  const messages = [system, { role: "user" as const, content: "Write a haiku about autumn." }];
  const given = decide({ messages, isAvailable: deployed, promptTokens: () => 40, promptEstimate: 40 });
  assert.ok(given.chosen);
  assert.equal(reads, 0, "the classifier reads no system turn; nothing else should either");
  // the caller's size is what the long-context requirement reads
  const long = decide({
    messages,
    isAvailable: deployed,
    promptTokens: () => 40_000,
    promptEstimate: 40_000,
  });
  assert.ok(long.required.includes("long_context"));
  // without them, the estimate: computed once
  estimatePromptTokens(messages);
  const once = reads;
  assert.ok(once > 0);
  const estimated = decide({ messages, isAvailable: deployed });
  assert.equal(reads, 2 * once);
  assert.equal(estimated.chosen?.model.id, given.chosen.model.id);
});

Deno.test("a model's input limit below its context window is a hard constraint (gpt-5: 272K of 400K)", () => {
  const gpt5 = CHAT_MODELS.find((m) => m.id === "gpt-5")!;
  const qwen = CHAT_MODELS.find((m) => m.id === "qwen-max")!;
  assert.equal(gpt5.maxInputTokens, 272_000);
  assert.equal(qwen.maxInputTokens, 30_720);
  const asked = (tokens: number) =>
    decide({
      ...ask(HIGH_MATH),
      isAvailable: everything,
      promptTokens: () => tokens,
      promptEstimate: tokens,
    });
  // 300K + the default 4,096-token answer fits the 400K window, not the 272K input limit
  assert.ok(asked(260_000).ranked.some((r) => r.model.id === "gpt-5"));
  assert.ok(!asked(300_000).ranked.some((r) => r.model.id === "gpt-5"));
  // 31K + 1K fits qwen-max's 32,768 in all, not its 30,720 of input
  const short = (tokens: number) =>
    decide({
      ...ask("Summarize this report."),
      isAvailable: (m) => m.id === "qwen-max",
      maxTokens: 1_000,
      promptTokens: () => tokens,
      promptEstimate: tokens,
    }).ranked.length;
  assert.equal(short(30_000), 1);
  assert.equal(short(31_000), 0);
});
