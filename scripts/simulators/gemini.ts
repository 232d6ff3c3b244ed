// Simulated Google Gemini provider: a loopback server speaking the Gemini Developer API
// (https://ai.google.dev/api/generate-content) as `@google/genai` calls it, so the product runs
// with no API key. Its URL is the SDK root (what GEMINI_BASE_URL holds); paths carry the version.
//
//   POST /v1beta/models/{model}:generateContent         one GenerateContentResponse
//   POST /v1beta/models/{model}:streamGenerateContent   ?alt=sse: `data: {chunk}` events (CRLF), no
//                                                       end marker; without alt: a JSON array
//   POST /v1beta/models/{model}:countTokens             {"totalTokens", "promptTokensDetails"}
//   GET  /v1beta/models                                 list (pageSize, pageToken)
//   GET  /v1beta/models/{model}                         any id
//   (the same under /v1)
//   /__simulator/…                                      fault plan and counters (see control.ts)
//
// Authentication as Google does it: the key in `x-goog-api-key` or `?key=`. No key → 403
// PERMISSION_DENIED (401 UNAUTHENTICATED if only an OAuth bearer token came, which the simulator
// cannot check); a key outside `apiKeys` (when that option is set) → 400 INVALID_ARGUMENT with
// reason API_KEY_INVALID. Every error is Google's `{"error":{"code","message","status"}}`.
//
// Generation: the deterministic reply of reply.ts; tokens per tokens.ts. promptTokenCount is the
// token count of every text in systemInstruction and contents (function calls/responses and
// tools as their JSON, 258 per image or file part); no per-turn overhead. With
// generationConfig.thinkingConfig.includeThoughts the answer is preceded by thought parts
// (`"thought": true`) counted in thoughtsTokenCount, apart from candidatesTokenCount.
// maxOutputTokens bounds thoughts + answer together (thoughts first), as on Gemini's thinking
// models; hitting it ends the answer with finishReason MAX_TOKENS. stopSequences end it before
// the first match (STOP). Streams send up to TOKENS_PER_CHUNK tokens per chunk, each chunk with
// the running usageMetadata; the last answer chunk carries finishReason.
//
// Faults (control.ts), in Google's shapes: rate_limit → 429 RESOURCE_EXHAUSTED whose wait is the
// body's RetryInfo.retryDelay (e.g. "17s"), with no Retry-After header, as Gemini answers; server_error
// → 500 INTERNAL; unavailable and overloaded → 503 UNAVAILABLE ("The model is overloaded"), with a
// RetryInfo when retryAfterSeconds is given; cut_stream, stall as in control.ts; stream_error → a
// `data: {"error":{"code":500,…,"status":"INTERNAL"}}` event, then the end of the body;
// early_end → the body ends cleanly with no finishReason (non-streaming: the candidate without one).
// `afterTokens` counts output tokens, thoughts included.
//
// Standalone: deno run -A scripts/simulators/gemini.ts --port 1234 --tps 80 --first-token-ms 200

import { z } from "zod";
import { type Fault, FaultController, serveProvider, SimulatorStats } from "./control.ts";
import {
  CutStream,
  droppedResponse,
  pacingFor,
  type RequestContext,
  runSimulatorCli,
  type Simulator,
  type SimulatorOptions,
  sleep,
  untilAborted,
} from "./http.ts";
import { fnv1a, seededRandom, simulatedReply } from "./reply.ts";
import { countTokens, tokenize } from "./tokens.ts";
import { jsonReply, planToolCall, type SimCall, toolResultReply } from "./tools.ts";

export type { Simulator, SimulatorOptions } from "./http.ts";

export interface GeminiSimulatorOptions extends SimulatorOptions {
  /** Model ids listed by GET /v1beta/models (any id is accepted for generation). */
  models?: string[];
  /** The API keys accepted; by default any non-empty key. */
  apiKeys?: string[];
}

export const DEFAULT_GEMINI_MODELS = [
  "gemini-2.5-pro",
  "gemini-2.5-flash",
  "gemini-2.0-flash",
  "gemini-2.0-flash-lite",
  "gemini-1.5-pro",
  "gemini-1.5-flash",
  "imagen-3.0-generate-002",
];

/** Most output tokens per streamed chunk (Gemini streams a few words at a time). */
export const TOKENS_PER_CHUNK = 4;
/** Prompt tokens for one image or file part (Gemini's fixed cost for a small image). */
export const MEDIA_PART_TOKENS = 258;

const API_VERSIONS = ["v1beta", "v1"];
const INTERNAL_MESSAGE =
  "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting (simulated fault)";
const RATE_LIMIT_MESSAGE =
  "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits. (simulated fault)";
const QUOTA_LIMIT = "15";

// ---------------------------------------------------------------------------------------------
// Responses in Google's shapes

interface GoogleError {
  code: number;
  message: string;
  status: string;
  details?: unknown[];
}

function headers(extra: Record<string, string> = {}): Headers {
  return new Headers({
    "vary": "Origin, X-Origin, Referer",
    "server": "scaffolding on HTTPServer2",
    "server-timing": "gfet4t7; dur=1",
    "x-simulated-provider": "gemini",
    ...extra,
  });
}

function json(body: unknown, status = 200, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: headers({ "content-type": "application/json; charset=UTF-8", ...extra }),
  });
}

function apiError(error: GoogleError, extra: Record<string, string> = {}): Response {
  return json({ error }, error.code, extra);
}

function errorInfo(reason: string, metadata: Record<string, string> = {}) {
  return {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    reason,
    domain: "googleapis.com",
    metadata: { service: "generativelanguage.googleapis.com", ...metadata },
  };
}

function invalidArgument(message: string, field?: string): Response {
  const details = field
    ? [{
      "@type": "type.googleapis.com/google.rpc.BadRequest",
      fieldViolations: [{ field, description: message }],
    }]
    : undefined;
  return apiError({ code: 400, message, status: "INVALID_ARGUMENT", ...(details ? { details } : {}) });
}

function notFound(message: string): Response {
  return apiError({ code: 404, message, status: "NOT_FOUND" });
}

// ---------------------------------------------------------------------------------------------
// Request body (https://ai.google.dev/api/generate-content#request-body). Unknown fields are let
// through; the fields the simulator reads are type-checked the way the API reports them.

const num = z.number().nullish();
const Part = z.looseObject({
  text: z.string().nullish(),
  thought: z.boolean().nullish(),
  thoughtSignature: z.string().nullish(),
  inlineData: z.looseObject({ mimeType: z.string(), data: z.string() }).nullish(),
  fileData: z.looseObject({ fileUri: z.string(), mimeType: z.string().nullish() }).nullish(),
  functionCall: z.looseObject({ name: z.string(), args: z.record(z.string(), z.unknown()).nullish() })
    .nullish(),
  functionResponse: z.looseObject({ name: z.string(), response: z.record(z.string(), z.unknown()).nullish() })
    .nullish(),
  executableCode: z.looseObject({}).nullish(),
  codeExecutionResult: z.looseObject({}).nullish(),
});
const DATA_FIELDS = [
  "text",
  "inlineData",
  "fileData",
  "functionCall",
  "functionResponse",
  "executableCode",
  "codeExecutionResult",
] as const;
const Content = z.looseObject({ role: z.string().nullish(), parts: z.array(Part).nullish() });
const GenerationConfig = z.looseObject({
  stopSequences: z.array(z.string()).nullish(),
  candidateCount: z.int().nullish(),
  maxOutputTokens: z.int().nullish(),
  temperature: num,
  topP: num,
  topK: num,
  seed: z.int().nullish(),
  presencePenalty: num,
  frequencyPenalty: num,
  responseMimeType: z.string().nullish(),
  responseSchema: z.unknown().optional(),
  responseJsonSchema: z.unknown().optional(),
  thinkingConfig: z.looseObject({
    includeThoughts: z.boolean().nullish(),
    thinkingBudget: z.int().nullish(),
    thinkingLevel: z.string().nullish(),
  }).nullish(),
});
const Body = z.looseObject({
  contents: z.array(Content).nullish(),
  systemInstruction: Content.nullish(),
  generationConfig: GenerationConfig.nullish(),
  tools: z.array(z.looseObject({
    functionDeclarations: z.array(z.looseObject({
      name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,63}$/),
      description: z.string().nullish(),
      parameters: z.unknown().optional(),
      parametersJsonSchema: z.unknown().optional(),
    })).nullish(),
  })).nullish(),
  toolConfig: z.looseObject({
    functionCallingConfig: z.looseObject({
      mode: z.enum(["MODE_UNSPECIFIED", "AUTO", "ANY", "NONE", "VALIDATED"]).nullish(),
      allowedFunctionNames: z.array(z.string()).nullish(),
    }).nullish(),
  }).nullish(),
  safetySettings: z.array(z.looseObject({})).nullish(),
  cachedContent: z.string().nullish(),
});
type GenerateBody = z.output<typeof Body>;
type GeminiContent = z.output<typeof Content>;

/** A JSON path as Google's field violations write it: generation_config.temperature, contents[0].parts */
function fieldOf(path: PropertyKey[]): string {
  const snake = (s: string) => s.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${snake(String(p))}`)
    .join("");
}

const PROTO_TYPES: Record<string, string> = {
  string: "TYPE_STRING",
  number: "TYPE_FLOAT",
  boolean: "TYPE_BOOL",
  array: "TYPE_MESSAGE (repeated)",
  object: "TYPE_MESSAGE",
  record: "TYPE_MESSAGE",
};

const INT_FIELDS = new Set(["candidateCount", "maxOutputTokens", "seed", "thinkingBudget"]);

function violation(error: z.ZodError): Response {
  const issue = error.issues[0];
  const field = fieldOf(issue.path);
  const input = (issue as { input?: unknown }).input;
  if (issue.code === "invalid_type") {
    if (input === undefined) {
      return invalidArgument(`* GenerateContentRequest.${field}: ${field} is not specified\n`, field);
    }
    const leaf = issue.path.at(-1);
    const type = typeof leaf === "string" && INT_FIELDS.has(leaf)
      ? "TYPE_INT32"
      : PROTO_TYPES[issue.expected] ?? issue.expected.toUpperCase();
    return invalidArgument(`Invalid value at '${field}' (${type}), ${JSON.stringify(input)}`, field);
  }
  return invalidArgument(`* GenerateContentRequest.${field}: ${issue.message}\n`, field);
}

/**
 * Function calling as Gemini checks it: a turn of function responses must come right after the
 * model's function-call turn and answer each call by name; a declaration has parameters or
 * parametersJsonSchema, not both.
 */
function functionCallError(body: GenerateBody): Response | undefined {
  for (const t of body.tools ?? []) {
    for (const d of t.functionDeclarations ?? []) {
      if (d.parameters !== undefined && d.parametersJsonSchema !== undefined) {
        return invalidArgument(
          `parameters and parametersJsonSchema cannot both be set (function ${d.name}).`,
        );
      }
    }
  }
  const contents = body.contents ?? [];
  for (const [i, c] of contents.entries()) {
    const responses = (c.parts ?? []).filter((p) => p.functionResponse).map((p) => p.functionResponse!.name);
    if (!responses.length) continue;
    const called = (contents[i - 1]?.role === "model" ? contents[i - 1].parts ?? [] : [])
      .filter((p) => p.functionCall).map((p) => p.functionCall!.name);
    if (!called.length || responses.length !== called.length || responses.some((n) => !called.includes(n))) {
      return invalidArgument(
        "Please ensure that function response turn comes immediately after a function call turn. And the number of function response parts should be equal to number of function call parts of the function call turn.",
      );
    }
  }
  return undefined;
}

/** The semantic checks Gemini makes after parsing (first failure only). */
function semanticError(body: GenerateBody): Response | undefined {
  const contents = body.contents ?? [];
  if (contents.length === 0) {
    return invalidArgument("* GenerateContentRequest.contents: contents is not specified\n", "contents");
  }
  const checkContent = (c: GeminiContent, where: string): Response | undefined => {
    const parts = c.parts ?? [];
    if (parts.length === 0) {
      return invalidArgument(`* GenerateContentRequest.${where}.parts: contents.parts must not be empty.\n`);
    }
    for (const [j, part] of parts.entries()) {
      const set = DATA_FIELDS.filter((f) => part[f] != null && part[f] !== "");
      if (set.length !== 1) {
        return invalidArgument(
          `* GenerateContentRequest.${where}.parts[${j}].data: ${
            set.length
              ? "oneof field 'data' is already set. Cannot set '" + set[1] + "'"
              : "required oneof field 'data' must have one initialized field"
          }\n`,
        );
      }
    }
    return undefined;
  };
  for (const [i, c] of contents.entries()) {
    if (c.role != null && c.role !== "" && !["user", "model", "function"].includes(c.role)) {
      return invalidArgument("Please use a valid role: user, model.");
    }
    const bad = checkContent(c, `contents[${i}]`);
    if (bad) return bad;
  }
  if (body.systemInstruction) {
    const bad = checkContent(body.systemInstruction, "system_instruction");
    if (bad) return bad;
  }
  const calls = functionCallError(body);
  if (calls) return calls;
  const g = body.generationConfig;
  if (!g) return undefined;
  if (g.responseSchema !== undefined && g.responseJsonSchema !== undefined) {
    return invalidArgument("responseSchema and responseJsonSchema cannot both be set.");
  }
  const checks: [field: string, failed: boolean, problem: string][] = [
    ["temperature", g.temperature != null && (g.temperature < 0 || g.temperature > 2), "must be in [0, 2]"],
    ["top_p", g.topP != null && (g.topP < 0 || g.topP > 1), "must be in [0, 1]"],
    ["max_output_tokens", g.maxOutputTokens != null && g.maxOutputTokens < 1, "must be positive"],
    ["stop_sequences", (g.stopSequences?.length ?? 0) > 5, "allows at most 5 entries"],
    ["candidate_count", g.candidateCount != null && g.candidateCount !== 1, "must be 1 in the simulator"],
  ];
  const failed = checks.find(([, bad]) => bad);
  if (!failed) return undefined;
  const [field, , problem] = failed;
  return invalidArgument(
    `* GenerateContentRequest.generation_config.${field}: ${field} ${problem}.\n`,
    `generation_config.${field}`,
  );
}

// ---------------------------------------------------------------------------------------------
// Generation

function partTexts(c: GeminiContent | null | undefined): { texts: string[]; media: number } {
  const texts: string[] = [];
  let media = 0;
  for (const part of c?.parts ?? []) {
    if (typeof part.text === "string") texts.push(part.text);
    else if (part.inlineData || part.fileData) media++;
    else if (part.functionCall) {
      texts.push(part.functionCall.name, JSON.stringify(part.functionCall.args ?? {}));
    } else if (part.functionResponse) {
      texts.push(part.functionResponse.name, JSON.stringify(part.functionResponse.response ?? {}));
    }
  }
  return { texts, media };
}

/** promptTokenCount of a request: see the header comment. */
export function promptTokens(body: Pick<GenerateBody, "contents" | "systemInstruction" | "tools">): {
  text: number;
  media: number;
} {
  let text = 0;
  let media = 0;
  for (const c of [body.systemInstruction, ...(body.contents ?? [])]) {
    const p = partTexts(c);
    for (const t of p.texts) text += countTokens(t);
    media += p.media * MEDIA_PART_TOKENS;
  }
  if (body.tools?.length) text += countTokens(JSON.stringify(body.tools));
  return { text, media };
}

interface Generation {
  /** The function the model calls instead of answering in text (see tools.ts). */
  call?: { name: string; args: Record<string, unknown>; tokens: number };
  thoughts: string[];
  pieces: string[];
  finishReason: "STOP" | "MAX_TOKENS";
  promptTokens: number;
  promptDetails: { modality: string; tokenCount: number }[];
}

/** The thought summary a thinking model would stream first (deterministic). */
function thoughtSummary(model: string, lastUser: string | undefined): string {
  const said = lastUser?.replace(/\s+/g, " ").trim();
  const quoted = said ? tokenize(said).slice(0, 8).join("").trim() : "";
  return `**Reading the request**\n\nThe user wrote ${
    quoted ? `"${quoted}"` : "nothing I can quote"
  }. I am the NEXUS AI simulator standing in for ${model}, so my answer is chosen from a fixed list.\n\n\n` +
    "**Composing the reply**\n\nI will quote the message back and add a few fixed sentences.\n\n\n";
}

/** The call the model makes, from tools and toolConfig.functionCallingConfig (AUTO, ANY, NONE). */
function plannedCall(body: GenerateBody, afterToolResult: boolean): SimCall | null {
  const tools = (body.tools ?? []).flatMap((t) => t.functionDeclarations ?? []).map((d) => ({
    name: d.name,
    parameters: d.parametersJsonSchema ?? d.parameters,
  }));
  const config = body.toolConfig?.functionCallingConfig;
  const allowed = config?.allowedFunctionNames ?? [];
  const choice = config?.mode === "NONE"
    ? "none"
    : config?.mode === "ANY"
    ? (allowed.length ? { name: allowed[0] } : "required")
    : "auto";
  return planToolCall(tools, choice, afterToolResult);
}

function generate(model: string, body: GenerateBody, opts: GeminiSimulatorOptions): Generation {
  const contents = body.contents ?? [];
  const lastUser = contents.findLast((c) => c.role == null || c.role === "" || c.role === "user");
  const lastUserText = lastUser ? partTexts(lastUser).texts.join("\n") : undefined;
  const results = (contents.at(-1)?.parts ?? []).filter((p) => p.functionResponse).map((p) =>
    JSON.stringify(p.functionResponse!.response ?? {})
  );
  const call = plannedCall(body, results.length > 0);
  const g = body.generationConfig;
  let text = call
    ? ""
    : results.length
    ? toolResultReply(model, results)
    : g?.responseMimeType === "application/json"
    ? jsonReply(model, g.responseJsonSchema ?? g.responseSchema, lastUserText)
    : simulatedReply({
      model,
      lastUserText,
      seed: JSON.stringify([body.systemInstruction ?? null, contents]),
      maxTokens: opts.maxReplyTokens,
    });
  let cut = text.length;
  for (const s of (g?.stopSequences ?? []).filter((s) => s.length > 0)) {
    const i = text.indexOf(s);
    if (i >= 0 && i < cut) cut = i;
  }
  text = text.slice(0, cut);
  let pieces = tokenize(text);
  let thoughts = g?.thinkingConfig?.includeThoughts && !call
    ? tokenize(thoughtSummary(model, lastUserText))
    : [];
  let finishReason: Generation["finishReason"] = "STOP";
  const limit = g?.maxOutputTokens;
  if (limit != null && thoughts.length + pieces.length > limit) {
    thoughts = thoughts.slice(0, limit);
    pieces = pieces.slice(0, limit - thoughts.length);
    finishReason = "MAX_TOKENS";
  }
  const prompt = promptTokens(body);
  const promptDetails = [{ modality: "TEXT", tokenCount: prompt.text }];
  if (prompt.media) promptDetails.push({ modality: "IMAGE", tokenCount: prompt.media });
  return {
    // Gemini ends a function call with finishReason STOP.
    ...(call
      ? {
        call: {
          name: call.name,
          args: JSON.parse(call.arguments),
          tokens: countTokens(call.name) + countTokens(call.arguments),
        },
      }
      : {}),
    thoughts,
    pieces,
    finishReason,
    promptTokens: prompt.text + prompt.media,
    promptDetails,
  };
}

/** usageMetadata after `thoughts` thought and `answer` answer tokens, in Gemini's key order. */
function usageMetadata(g: Generation, answer: number, thoughts: number): Record<string, unknown> {
  const u: Record<string, unknown> = { promptTokenCount: g.promptTokens };
  if (answer > 0) u.candidatesTokenCount = answer;
  u.totalTokenCount = g.promptTokens + answer + thoughts;
  u.promptTokensDetails = g.promptDetails;
  if (thoughts > 0) u.thoughtsTokenCount = thoughts;
  return u;
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A responseId like Gemini's (23 characters). */
function responseId(): string {
  const rand = seededRandom(fnv1a(crypto.randomUUID()));
  let s = "";
  for (let i = 0; i < 23; i++) s += ID_ALPHABET[Math.floor(rand() * ID_ALPHABET.length)];
  return s;
}

// ---------------------------------------------------------------------------------------------
// The server

/** Starts the simulated Gemini server on 127.0.0.1; its url is the SDK root (no version). */
export function startGeminiSimulator(opts: GeminiSimulatorOptions = {}): Promise<Simulator> {
  const faults = new FaultController();
  const stats = new SimulatorStats();
  const models = opts.models ?? DEFAULT_GEMINI_MODELS;

  /** The auth failure for a request, or undefined when its key is accepted. */
  function authError(req: Request, url: URL): Response | undefined {
    const key = req.headers.get("x-goog-api-key")?.trim() || url.searchParams.get("key")?.trim() || "";
    if (key) {
      if (!opts.apiKeys || opts.apiKeys.includes(key)) return undefined;
      return apiError({
        code: 400,
        message: "API key not valid. Please pass a valid API key. (simulated)",
        status: "INVALID_ARGUMENT",
        details: [
          errorInfo("API_KEY_INVALID"),
          {
            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
            locale: "en-US",
            message: "API key not valid. Please pass a valid API key.",
          },
        ],
      });
    }
    if (req.headers.get("authorization")) {
      return apiError({
        code: 401,
        message:
          "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project. (simulated: use an API key)",
        status: "UNAUTHENTICATED",
        details: [errorInfo("ACCESS_TOKEN_TYPE_UNSUPPORTED")],
      });
    }
    return apiError({
      code: 403,
      message:
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API. (simulated)",
      status: "PERMISSION_DENIED",
    });
  }

  /** When to come back, as Google APIs say it: in the error's details, never in a header. */
  const retryInfo = (seconds: number) => ({
    "@type": "type.googleapis.com/google.rpc.RetryInfo",
    retryDelay: `${seconds}s`,
  });

  /** The error response a fault calls for, or undefined when it acts on the body instead. */
  function faultResponse(fault: Fault, model: string, streaming: boolean): Response | undefined {
    const retry = fault.retryAfterSeconds;
    switch (fault.mode) {
      case "rate_limit":
        return apiError({
          code: 429,
          message: RATE_LIMIT_MESSAGE,
          status: "RESOURCE_EXHAUSTED",
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.QuotaFailure",
              violations: [{
                quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                quotaId: "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                quotaDimensions: { location: "global", model },
                quotaValue: QUOTA_LIMIT,
              }],
            },
            {
              "@type": "type.googleapis.com/google.rpc.Help",
              links: [{
                description: "Learn more about Gemini API quotas",
                url: "https://ai.google.dev/gemini-api/docs/rate-limits",
              }],
            },
            retryInfo(retry ?? 0),
          ],
        });
      case "stream_error": // without a stream, the error can only be the whole response
        return streaming ? undefined : apiError({ code: 500, message: INTERNAL_MESSAGE, status: "INTERNAL" });
      case "server_error":
        return apiError({ code: 500, message: INTERNAL_MESSAGE, status: "INTERNAL" });
      case "bad_request":
        return apiError({
          code: 400,
          message: "Invalid value at 'contents[0]': the request was refused as malformed (simulated fault)",
          status: "INVALID_ARGUMENT",
        });
      case "cut_stream":
      case "stall":
      case "early_end":
        return undefined; // these act on the body
      default: // unavailable, and overloaded: Gemini's overload answer is this same 503
        return apiError({
          code: 503,
          message: "The model is overloaded. Please try again later. (simulated fault)",
          status: "UNAVAILABLE",
          ...(retry !== undefined ? { details: [retryInfo(retry)] } : {}),
        });
    }
  }

  /** A 200 response whose body breaks off (used when the simulator closes mid-wait). */
  const dropped = (ctx: RequestContext) =>
    droppedResponse(ctx, headers({ "content-type": "application/json; charset=UTF-8" }));

  async function readBody(req: Request): Promise<{ body: GenerateBody } | { error: Response }> {
    const text = await req.text();
    let raw: unknown;
    try {
      raw = text.trim() === "" ? {} : JSON.parse(text);
    } catch (e) {
      return { error: invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`) };
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
      return {
        error: invalidArgument(
          `Invalid JSON payload received. Unknown name "": Root element must be a message.`,
        ),
      };
    }
    const parsed = Body.safeParse(raw, { reportInput: true });
    if (!parsed.success) return { error: violation(parsed.error) };
    return { body: parsed.data };
  }

  async function generateContent(
    req: Request,
    ctx: RequestContext,
    model: string,
    mode: "unary" | "sse" | "array",
  ): Promise<Response> {
    const read = await readBody(req);
    if ("error" in read) return read.error;
    const body = read.body;
    const invalid = semanticError(body);
    if (invalid) return invalid;

    const streaming = mode !== "unary";
    const fault = faults.take(model);
    if (fault) {
      stats.fault(fault.mode);
      const res = faultResponse(fault, model, streaming);
      if (res) return res;
    }

    const gen = generate(model, body, opts);
    const pacing = pacingFor(opts, req.headers);
    const id = responseId();
    const answerTokens = gen.pieces.length + (gen.call?.tokens ?? 0);
    const outputTokens = gen.thoughts.length + answerTokens;
    const functionCall = gen.call
      ? { functionCall: { name: gen.call.name, args: gen.call.args } }
      : undefined;

    if (!streaming) {
      const parts: Record<string, unknown>[] = [];
      if (gen.thoughts.length) parts.push({ text: gen.thoughts.join(""), thought: true });
      if (functionCall) parts.push(functionCall);
      if (gen.pieces.length || !parts.length) parts.push({ text: gen.pieces.join("") });
      const finishReason = fault?.mode === "early_end" ? undefined : gen.finishReason;
      const response = {
        candidates: [{ content: { parts, role: "model" }, finishReason, index: 0 }],
        usageMetadata: usageMetadata(gen, answerTokens, gen.thoughts.length),
        modelVersion: model,
        responseId: id,
      };
      stats.active++;
      try {
        if (fault?.mode === "stall") await untilAborted(ctx.signal);
        await sleep(pacing.firstTokenLatencyMs + outputTokens * pacing.msPerToken, ctx.signal);
      } catch {
        return dropped(ctx); // the simulator is closing: drop the connection
      } finally {
        stats.active--;
      }
      if (fault?.mode === "cut_stream") {
        const text = JSON.stringify(response);
        return new Response(
          ctx.stream(async function* () {
            yield text.slice(0, Math.floor(text.length / 2));
            throw new CutStream();
          }),
          { headers: headers({ "content-type": "application/json; charset=UTF-8" }) },
        );
      }
      stats.tokens(gen.promptTokens, outputTokens);
      return json(response);
    }

    // Streaming: chunk objects as Gemini frames them (see fixtures/providers/google).
    const output = [
      ...gen.thoughts.map((text) => ({ text, thought: true })),
      ...gen.pieces.map((text) => ({ text, thought: false })),
    ];
    const breakAt = fault ? Math.min(fault.afterTokens, output.length) : output.length;
    const perChunk = pacing.msPerToken > 0 && pacing.msPerToken < 10
      ? Math.max(TOKENS_PER_CHUNK, Math.ceil(10 / pacing.msPerToken))
      : TOKENS_PER_CHUNK;
    let framed = 0;
    const frame = (payload: unknown) => {
      const text = JSON.stringify(payload);
      if (mode === "sse") return `data: ${text}\r\n\r\n`;
      return (framed++ === 0 ? "[" : "\r\n,") + text; // the JSON-array form (no alt=sse)
    };
    const chunk = (
      part: Record<string, unknown>,
      sent: { answer: number; thoughts: number },
      finish?: string,
    ) => {
      const candidate: Record<string, unknown> = { content: { parts: [part], role: "model" } };
      if (finish) candidate.finishReason = finish;
      candidate.index = 0;
      return frame({
        candidates: [candidate],
        usageMetadata: usageMetadata(gen, sent.answer, sent.thoughts),
        modelVersion: model,
        responseId: id,
      });
    };
    let streamErrored = false;
    let endedEarly = false;

    async function* frames(signal: AbortSignal): AsyncGenerator<string> {
      await sleep(pacing.firstTokenLatencyMs, signal);
      const sent = { answer: 0, thoughts: 0 };
      let at = 0;
      let finished = false;
      if (functionCall) {
        // The call comes whole in one chunk; an empty text part with the finish reason follows.
        sent.answer = gen.call!.tokens;
        yield chunk(functionCall, sent);
      }
      while (at < breakAt) {
        const thought = output[at].thought;
        let take = 1;
        while (take < perChunk && at + take < breakAt && output[at + take].thought === thought) take++;
        if (at > 0) await sleep(take * pacing.msPerToken, signal);
        const text = output.slice(at, at + take).map((o) => o.text).join("");
        at += take;
        if (thought) sent.thoughts += take;
        else sent.answer += take;
        const last = !fault && !thought && at === output.length;
        finished ||= last;
        yield chunk(thought ? { text, thought: true } : { text }, sent, last ? gen.finishReason : undefined);
      }
      if (fault?.mode === "cut_stream") throw new CutStream();
      if (fault?.mode === "stall") {
        stats.stream("stalled");
        await untilAborted(signal);
      }
      if (fault?.mode === "stream_error") {
        streamErrored = true;
        yield frame({ error: { code: 500, message: INTERNAL_MESSAGE, status: "INTERNAL" } });
      } else if (fault?.mode === "early_end") {
        endedEarly = true; // the body ends in good order, with no chunk carrying a finishReason
      } else if (!finished) {
        // No answer tokens to carry the finish reason (all thinking, or an empty answer).
        yield chunk({ text: "" }, sent, gen.finishReason);
      }
      if (mode === "array") yield framed ? "]" : "[]";
    }

    const stream = ctx.stream(
      frames,
      stats.streamStarted(() => streamErrored, () => [gen.promptTokens, outputTokens], () => endedEarly),
    );
    return new Response(stream, {
      headers: headers({
        "content-type": mode === "sse" ? "text/event-stream" : "application/json; charset=UTF-8",
        "content-disposition": "attachment",
      }),
    });
  }

  async function countTokensRoute(req: Request): Promise<Response> {
    let raw: unknown;
    try {
      raw = JSON.parse((await req.text()) || "{}");
    } catch (e) {
      return invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`);
    }
    const inner = (raw as { generateContentRequest?: unknown })?.generateContentRequest ?? raw;
    const parsed = Body.safeParse(inner, { reportInput: true });
    if (!parsed.success) return violation(parsed.error);
    const { text, media } = promptTokens(parsed.data);
    const details = [{ modality: "TEXT", tokenCount: text }];
    if (media) details.push({ modality: "IMAGE", tokenCount: media });
    return json({ totalTokens: text + media, promptTokensDetails: details });
  }

  function modelObject(id: string) {
    const image = id.startsWith("imagen");
    return {
      name: `models/${id}`,
      version: "001",
      displayName: `${id} (simulated)`,
      description: "Simulated by NEXUS AI: deterministic replies, not a real model.",
      inputTokenLimit: image ? 480 : 1_048_576,
      outputTokenLimit: image ? 8_192 : 65_536,
      supportedGenerationMethods: image ? ["predict"] : ["generateContent", "countTokens"],
      ...(image ? {} : { temperature: 1, topP: 0.95, topK: 64, maxTemperature: 2 }),
    };
  }

  function listModels(url: URL): Response {
    const size = Number(url.searchParams.get("pageSize") ?? 50);
    if (!Number.isInteger(size) || size < 0) return invalidArgument("Invalid page size.", "page_size");
    const pageSize = Math.min(size || 50, 1000);
    const token = url.searchParams.get("pageToken");
    let start = 0;
    try {
      start = token ? Number(atob(token)) : 0;
    } catch {
      start = NaN;
    }
    if (!Number.isInteger(start) || start < 0) return invalidArgument("Invalid page token.", "page_token");
    const end = start + pageSize;
    const body: Record<string, unknown> = { models: models.slice(start, end).map(modelObject) };
    if (end < models.length) body.nextPageToken = btoa(String(end));
    return json(body);
  }

  async function route(req: Request, ctx: RequestContext, url: URL): Promise<Response> {
    const m = /^\/([^/]+)\/models(?:\/([^/:]+)(?::([A-Za-z]+))?)?\/?$/.exec(url.pathname);
    if (!m || !API_VERSIONS.includes(m[1])) {
      return notFound(`Requested entity was not found. (${req.method} ${url.pathname})`);
    }
    const auth = authError(req, url);
    if (auth) return auth;
    const [, version, rawModel, method] = m;
    const model = rawModel === undefined ? undefined : decodeURIComponent(rawModel);
    if (model === undefined) {
      return req.method === "GET" ? listModels(url) : notFound(`Method not found. (${req.method} models)`);
    }
    if (method === undefined) {
      return req.method === "GET" ? json(modelObject(model)) : notFound(`Method not found. (${req.method})`);
    }
    if (req.method !== "POST") return notFound(`Method not found. (${req.method} :${method})`);
    switch (method) {
      case "generateContent":
        return await generateContent(req, ctx, model, "unary");
      case "streamGenerateContent":
        return await generateContent(
          req,
          ctx,
          model,
          url.searchParams.get("alt") === "sse" ? "sse" : "array",
        );
      case "countTokens":
        return await countTokensRoute(req);
      default:
        return notFound(
          `models/${model} is not found for API version ${version}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
        );
    }
  }

  return serveProvider({
    name: "gemini",
    opts,
    faults,
    stats,
    route,
    serverError: (message) => apiError({ code: 500, message, status: "INTERNAL" }),
  });
}

if (import.meta.main) {
  await runSimulatorCli("gemini", startGeminiSimulator);
}
