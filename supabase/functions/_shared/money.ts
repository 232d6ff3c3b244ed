// Exact money. Amounts are bigints of 10^-18 USD ("atto-dollars"), so a price per million tokens
// with up to 12 decimals has an exact per-token value and any sum of costs is exact. Decimal
// strings go in (catalog prices) and out (API, `numeric` columns); floats never hold money.

const SCALE = 18;
const ONE = 10n ** BigInt(SCALE);
const PER_MILLION = 1_000_000n;

/** "2.50" → 2_500_000_000_000_000_000n. Throws on anything but a plain non-negative decimal. */
export function toUnits(decimal: string): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(decimal);
  if (!match) throw new Error(`not a decimal amount: ${JSON.stringify(decimal)}`);
  const fraction = match[2] ?? "";
  if (fraction.length > SCALE) throw new Error(`more than ${SCALE} decimals: ${decimal}`);
  return BigInt(match[1]) * ONE + BigInt(fraction.padEnd(SCALE, "0") || "0");
}

/** 1_250_000_000_000_000n → "0.00125" (shortest exact form). */
export function formatUnits(units: bigint): string {
  if (units < 0n) return "-" + formatUnits(-units);
  const whole = units / ONE;
  const fraction = (units % ONE).toString().padStart(SCALE, "0").replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : `${whole}`;
}

// Parsed amounts by their decimal string: every request prices several models, and the strings
// are the catalog's few dozen prices. Bounded all the same, in case a caller brings its own.
const MAX_PARSED = 10_000;
const perToken = new Map<string, bigint>();
const amounts = new Map<string, bigint>();

function memo(cache: Map<string, bigint>, key: string, parse: (key: string) => bigint): bigint {
  let units = cache.get(key);
  if (units === undefined) {
    units = parse(key);
    if (cache.size >= MAX_PARSED) cache.clear();
    cache.set(key, units);
  }
  return units;
}

function parsePerToken(pricePerMillion: string): bigint {
  const units = toUnits(pricePerMillion);
  if (units % PER_MILLION !== 0n) {
    throw new Error(`price ${pricePerMillion} per 1M tokens has more than 12 decimals`);
  }
  return units / PER_MILLION;
}

/** The exact price of one token, given a price per 1M tokens; throws if it is not exact. */
export function perTokenUnits(pricePerMillion: string): bigint {
  return memo(perToken, pricePerMillion, parsePerToken);
}

export interface TokenPrices {
  inputPerMTok: string;
  outputPerMTok: string;
  /** Input read from the provider's prompt cache; defaults to the input price. */
  cachedInputPerMTok?: string;
  /** Input written to the provider's prompt cache (Anthropic); defaults to the input price. */
  cacheWriteInputPerMTok?: string;
  /** A flat fee per request on top of tokens (Perplexity's search fee). */
  requestFee?: string;
}

export interface TokenCounts {
  /** Every input token, including those read from or written to a prompt cache. */
  inputTokens: number;
  outputTokens: number;
  /** Of inputTokens, how many were read from the provider's prompt cache. */
  cachedInputTokens?: number;
  /** Of inputTokens, how many were written to the provider's prompt cache. */
  cacheWriteInputTokens?: number;
}

/** Cost of a request as exact units. */
export function costUnits(prices: TokenPrices, usage: TokenCounts): bigint {
  const cached = BigInt(Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens));
  const written = BigInt(Math.min(usage.cacheWriteInputTokens ?? 0, usage.inputTokens - Number(cached)));
  const plain = BigInt(usage.inputTokens) - cached - written;
  return plain * perTokenUnits(prices.inputPerMTok) +
    cached * perTokenUnits(prices.cachedInputPerMTok ?? prices.inputPerMTok) +
    written * perTokenUnits(prices.cacheWriteInputPerMTok ?? prices.inputPerMTok) +
    BigInt(usage.outputTokens) * perTokenUnits(prices.outputPerMTok) +
    (prices.requestFee ? memo(amounts, prices.requestFee, toUnits) : 0n);
}

/** Cost of a request as an exact decimal string, e.g. "0.00125". */
export function cost(prices: TokenPrices, usage: TokenCounts): string {
  return formatUnits(costUnits(prices, usage));
}

/** What toUnits accepts (a cheaper test than parsing). */
const DECIMAL = new RegExp(`^\\d+(?:\\.\\d{1,${SCALE}})?$`);

/**
 * A decimal string as a JSON number token, for wire formats that carry money as numbers: the
 * digits are written as they are (JSON.rawJSON), so no binary rounding reaches the client.
 */
export function decimalJson(decimal: string): number {
  if (!DECIMAL.test(decimal)) toUnits(decimal); // throws: only well-formed decimals become raw JSON
  const raw = (JSON as unknown as { rawJSON?: (text: string) => unknown }).rawJSON;
  return (raw ? raw(decimal) : Number(decimal)) as number;
}
