// Token counting before the provider answers: exact for OpenAI's tokenizer on text people write,
// bounded in time on text built to be slow, and an upper bound wherever it is not exact.

import assert from "node:assert/strict";
import { countTokens } from "gpt-tokenizer/encoding/o200k_base";
import { countPromptTokens, utf8Length } from "../../supabase/functions/_shared/tokens.ts";

const FRAMING = 3 + 4; // reply priming + one message's framing
const openai = async (text: string) =>
  await countPromptTokens("openai", [{ role: "user", content: text }]) - FRAMING;

/** Letters with no space and no repeating pattern the encoder could merge cheaply. */
function letters(n: number): string {
  const abc = "abcdefghijklmnopqrstuvwxyz";
  return Array.from({ length: n }, (_, i) => abc[(i * 7919 + (i >> 3)) % 26]).join("");
}

Deno.test("prose and code are counted exactly, as o200k counts them", async () => {
  for (
    const text of [
      "The quick brown fox jumps over the lazy dog.",
      "function add(a, b) {\n  return a + b; // sum\n}\n",
      "Grüße aus München — 東京 😀 1234567",
      `${"word ".repeat(500)}end`,
    ]
  ) assert.equal(await openai(text), countTokens(text), text.slice(0, 40));
});

Deno.test("special tokens in a user's text are counted as text, not refused", async () => {
  const text = "what do <|im_start|> and <|endoftext|> mean?";
  const n = await openai(text);
  assert.ok(n > 10, `counted: ${n}`);
  assert.throws(() => countTokens(text), /special token/, "the encoder's default would have thrown");
});

Deno.test("a long run without spaces is counted at its UTF-8 length: never below the exact count", async () => {
  for (const run of [letters(64), letters(300), "!?#".repeat(100), " ".repeat(300), "é".repeat(80)]) {
    const text = `before ${run} after`;
    const n = await openai(text);
    assert.ok(n >= countTokens(text), `${run.slice(0, 10)}…: ${n} ≥ ${countTokens(text)}`);
    assert.ok(n >= utf8Length(run), `${run.slice(0, 10)}…: at least its bytes`);
    assert.ok(n <= utf8Length(run) + countTokens("before  after") + 1, `${run.slice(0, 10)}…: and not more`);
  }
  // 100,000 letters without a space took the encoder seconds; counted this way, they are their bytes.
  assert.equal(await openai(letters(100_000)), 100_000 + countTokens(" "));
});

Deno.test("utf8Length agrees with TextEncoder", () => {
  for (const text of ["", "a", "é", "€", "😀", "a😀b", "東京", "\ud800", "x\udc00y"]) {
    assert.equal(utf8Length(text), new TextEncoder().encode(text).length, JSON.stringify(text));
  }
});

Deno.test("a json_schema response format counts its name and description, not only the schema", async () => {
  const messages = [{ role: "user", content: "hi" }];
  const schema = { type: "object", properties: { a: { type: "string" } } };
  const bare = await countPromptTokens("openai", messages, {
    responseFormat: { type: "json_schema", name: "answer", schema },
  });
  const described = await countPromptTokens("openai", messages, {
    responseFormat: { type: "json_schema", name: "answer", description: "word ".repeat(2_000), schema },
  });
  assert.ok(described - bare >= 2_000, `a 2,000-word description adds its tokens: ${described - bare}`);
  const estimated = await countPromptTokens("mistral", messages, {
    responseFormat: { type: "json_schema", name: "answer", description: "word ".repeat(2_000), schema },
  });
  assert.ok(estimated > 2_000, "estimated too, for other providers");
});
