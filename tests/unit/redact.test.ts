// Provider error text goes to our logs; the credentials it may quote do not.

import assert from "node:assert/strict";
import { redactSecrets } from "../../supabase/functions/_shared/observability/log.ts";

Deno.test("credentials in a provider's message are cut to four characters; the rest stays readable", () => {
  const secrets = [
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "sk-ant-api03-AbCdEfGhIjKlMnOp_qr-StUv",
    "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
    "xai-AbCdEfGhIjKlMnOpQrStUv",
    "gsk_AbCdEfGhIjKlMnOpQrStUv",
    "pplx-AbCdEfGhIjKlMnOpQrStUv",
    "nx_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdef",
    "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
  ];
  for (const secret of secrets) {
    const text = `Incorrect API key provided: ${secret}. You can find your API key at https://example.com.`;
    const out = redactSecrets(text);
    assert.ok(!out.includes(secret.slice(4)), `${secret.slice(0, 8)}… is gone: ${out}`);
    assert.ok(out.includes(`${secret.slice(0, 4)}…[redacted]`), out);
    assert.match(
      out,
      /^Incorrect API key provided: .*\. You can find your API key at https:\/\/example\.com\.$/,
    );
  }
  assert.equal(
    redactSecrets("Authorization: Bearer abc.def-123 was refused"),
    "Authorization: Bearer abc.…[redacted] was refused",
  );
  const plain =
    "Rate limit reached for gpt-4o-mini on requests per min: Limit 500, Used 500 (sk- is a prefix)";
  assert.equal(redactSecrets(plain), plain, "ordinary text is untouched");
});
