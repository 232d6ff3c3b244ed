import assert from "node:assert/strict";
import {
  cost,
  costUnits,
  decimalJson,
  formatUnits,
  perTokenUnits,
  toUnits,
} from "../../supabase/functions/_shared/money.ts";

Deno.test("decimal strings round-trip exactly", () => {
  for (const d of ["0", "1", "2.5", "0.000000000000000001", "123456789.123456789", "0.00125"]) {
    assert.equal(formatUnits(toUnits(d)), d);
  }
  assert.equal(formatUnits(toUnits("2.50")), "2.5");
});

Deno.test("malformed amounts are rejected, never read as zero", () => {
  for (const bad of ["", "-1", "1e-6", "0.1.2", " 1", "abc", "0.1234567890123456789"]) {
    assert.throws(() => toUnits(bad), bad);
  }
});

Deno.test("per-token prices are exact and refuse more than 12 decimals", () => {
  assert.equal(perTokenUnits("2.50"), 2_500_000_000_000n);
  assert.equal(perTokenUnits("0.075"), 75_000_000_000n);
  assert.throws(() => perTokenUnits("0.0000000000001"));
});

Deno.test("cost of a request: input + output at their prices, no float drift", () => {
  const prices = { inputPerMTok: "3.00", outputPerMTok: "15.00" };
  assert.equal(cost(prices, { inputTokens: 9, outputTokens: 3 }), "0.000072");
  // 0.1 + 0.2 style drift would show here with floats
  const gpt4oMini = { inputPerMTok: "0.15", outputPerMTok: "0.60" };
  assert.equal(cost(gpt4oMini, { inputTokens: 1, outputTokens: 2 }), "0.00000135");
  assert.equal(cost(gpt4oMini, { inputTokens: 0, outputTokens: 0 }), "0");
});

Deno.test("cached input tokens are billed at the cached price", () => {
  const prices = { inputPerMTok: "2.50", cachedInputPerMTok: "1.25", outputPerMTok: "10.00" };
  assert.equal(cost(prices, { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 100 }), "0.003");
  // without a cached price, cached tokens cost the normal input price
  assert.equal(
    cost({ inputPerMTok: "1", outputPerMTok: "1" }, {
      inputTokens: 10,
      cachedInputTokens: 10,
      outputTokens: 0,
    }),
    "0.00001",
  );
});

Deno.test("a thousand small charges sum exactly", () => {
  const prices = { inputPerMTok: "0.15", outputPerMTok: "0.60" };
  let total = 0n;
  for (let i = 1; i <= 1000; i++) {
    total += costUnits(prices, { inputTokens: i, outputTokens: 7 * i });
  }
  // Σi = 500500 → 500500 × 0.15e-6 + 3503500 × 0.6e-6 = 0.075075 + 2.1021
  assert.equal(formatUnits(total), "2.177175");
});

Deno.test("money in JSON keeps its digits", () => {
  assert.equal(JSON.stringify({ cost: decimalJson("0.00125") }), '{"cost":0.00125}');
  assert.equal(
    JSON.stringify({ cost: decimalJson("0.000001234567891234") }),
    '{"cost":0.000001234567891234}',
  );
  for (const bad of ["1e3", "-1", "1.", ".5", " 1", "0.1234567890123456789", "NaN"]) {
    assert.throws(() => decimalJson(bad), bad);
  }
  assert.equal(JSON.stringify([decimalJson("0.123456789012345678")]), "[0.123456789012345678]");
});

Deno.test("cache writes are billed at the cache-write price", () => {
  const prices = {
    inputPerMTok: "3",
    cachedInputPerMTok: "0.30",
    cacheWriteInputPerMTok: "3.75",
    outputPerMTok: "15",
  };
  // 100 plain + 1000 cache reads + 200 cache writes, 10 out
  const usage = { inputTokens: 1300, cachedInputTokens: 1000, cacheWriteInputTokens: 200, outputTokens: 10 };
  // 100×3 + 1000×0.3 + 200×3.75 + 10×15 = 300 + 300 + 750 + 150 = 1500 per 1M
  assert.equal(cost(prices, usage), "0.0015");
});

Deno.test("a per-request fee is added once, on top of tokens", () => {
  const sonar = { inputPerMTok: "1", outputPerMTok: "1", requestFee: "0.005" };
  assert.equal(cost(sonar, { inputTokens: 1000, outputTokens: 1000 }), "0.007");
  assert.equal(cost(sonar, { inputTokens: 0, outputTokens: 0 }), "0.005");
});

Deno.test("prices parsed once are remembered; a malformed one is refused every time", () => {
  for (let i = 0; i < 3; i++) {
    assert.equal(perTokenUnits("0.15"), 150_000_000_000n);
    assert.throws(() => perTokenUnits("0.0000000000001"), /more than 12 decimals/);
    assert.throws(() => perTokenUnits("-1"), /not a decimal amount/);
  }
  const withFee = { inputPerMTok: "1", outputPerMTok: "1", requestFee: "0.005" };
  assert.equal(cost(withFee, { inputTokens: 0, outputTokens: 0 }), "0.005");
  assert.equal(cost(withFee, { inputTokens: 0, outputTokens: 0 }), "0.005");
  assert.throws(() => cost({ ...withFee, requestFee: "five" }, { inputTokens: 0, outputTokens: 0 }));
});

Deno.test("Qwen's implicit prompt cache is billed at its 20% rate (Alibaba's bill), not at the full input price", async () => {
  const { CHAT_MODELS } = await import("../../supabase/functions/_shared/catalog/index.ts");
  const qwen = CHAT_MODELS.find((m) => m.id === "qwen-plus")!;
  // 2,000 uncached × $0.40/M + 8,000 cached × $0.08/M + 100 out × $1.20/M
  assert.equal(
    cost(qwen.pricing, { inputTokens: 10_000, cachedInputTokens: 8_000, outputTokens: 100 }),
    "0.00156",
  );
  assert.equal(
    cost(qwen.pricing, { inputTokens: 10_000, outputTokens: 100 }),
    "0.00412",
    "no cache hit, full price",
  );
});
