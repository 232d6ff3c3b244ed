// What a simulated model does with tools and JSON modes, the same for every simulated provider
// (each simulator writes it in its own wire format):
//
// - Tools offered, tool choice not "none", and the last message is not a tool result: the model
//   calls one tool (the named one, else the first) with arguments built from its JSON schema's
//   required properties (see argumentsFor), and says nothing else.
// - The last message is a tool result: the model answers in text that quotes the result.
// - A JSON mode: the answer is a JSON object (the schema's required properties where a schema is
//   given, see valueFor; else a small object saying what it is).
// Everything is deterministic: the same request gets the same call, ids aside.

import { tokenize } from "./tokens.ts";

/** Most tokens of a tool result quoted back. */
const QUOTE_TOKENS = 24;

export interface SimTool {
  name: string;
  /** JSON Schema of the arguments object. */
  parameters?: unknown;
}

/** A planned call: the tool and its arguments as JSON text. */
export interface SimCall {
  name: string;
  arguments: string;
}

type Schema = Record<string, unknown>;

const isSchema = (v: unknown): v is Schema => typeof v === "object" && v !== null && !Array.isArray(v);

/** A deterministic value of a JSON schema: its const, first enum value or example, or by type. */
export function valueFor(schema: unknown, name = "value"): unknown {
  if (!isSchema(schema)) return `sample ${name}`;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = schema[key];
    if (Array.isArray(options) && options.length) return valueFor(options[0], name);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") ?? "null" : schema.type;
  switch (type) {
    case "object":
      return argumentsFor(schema);
    case "array": {
      const min = typeof schema.minItems === "number" ? schema.minItems : 0;
      return Array.from({ length: Math.max(min, 1) }, () => valueFor(schema.items, name));
    }
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    case "null":
      return null;
    default:
      return isSchema(schema.properties) ? argumentsFor(schema) : `sample ${name}`;
  }
}

/** An object with a value for each of the schema's required properties (in their order). */
export function argumentsFor(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isSchema(schema)) return out;
  const properties = isSchema(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === "string") : [];
  for (const key of required) out[key] = valueFor(properties[key], key);
  return out;
}

/** How a request wants tools used, in neutral terms. */
export type SimChoice = "auto" | "none" | "required" | { name: string };

/** The call the simulated model makes, or null when it answers in text. */
export function planToolCall(tools: SimTool[], choice: SimChoice, afterToolResult: boolean): SimCall | null {
  if (!tools.length || choice === "none" || afterToolResult) return null;
  const tool = typeof choice === "object" ? tools.find((t) => t.name === choice.name) : tools[0];
  if (!tool) return null;
  return { name: tool.name, arguments: JSON.stringify(argumentsFor(tool.parameters)) };
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const pieces = tokenize(flat);
  return pieces.length <= QUOTE_TOKENS ? flat : pieces.slice(0, QUOTE_TOKENS).join("").trimEnd() + "…";
}

/** The text answer after tool results (deterministic; quotes what the tools returned). */
export function toolResultReply(model: string, results: string[]): string {
  const said = results.map((r) => `"${quote(r)}"`).join(" and ");
  return `[simulated ${model}] The tool returned ${said}. This answer comes from the NEXUS AI provider simulator.`;
}

/** A JSON answer: the schema's required properties, or a small object saying what it is. */
export function jsonReply(model: string, schema: unknown, lastUserText: string | undefined): string {
  if (isSchema(schema)) return JSON.stringify(valueFor(schema, "answer"));
  return JSON.stringify({ simulated: true, model, reply: quote(lastUserText ?? "") });
}

/** A call id like the provider's (prefix + random letters and digits). */
export function callId(prefix: string, length = 24): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = prefix;
  for (let i = 0; i < length; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
