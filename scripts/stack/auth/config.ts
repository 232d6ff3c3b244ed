// The project's Auth settings, read from supabase/config.toml's [auth] section as the Supabase CLI
// reads them for its local GoTrue, with the CLI's defaults for what the file leaves out. One
// override for the local stack: NEXUS_AUTH_CONFIRMATIONS=true|false wins over
// [auth.email] enable_confirmations, so the hosted path (sign up, confirm by email) can be run
// locally without editing the file.

import { existsSync } from "node:fs";
import { parse as parseToml } from "smol-toml";

export interface AuthSettings {
  /** [auth] site_url: where links go when the client names no (allowed) redirect. */
  siteUrl: string;
  /** [auth] additional_redirect_urls: further allowed redirects (globs, as GoTrue's URI allow list). */
  additionalRedirectUrls: string[];
  /** [auth] jwt_expiry, seconds. */
  jwtExpirySeconds: number;
  /** [auth] minimum_password_length. */
  minPasswordLength: number;
  /** [auth] refresh_token_reuse_interval, seconds. */
  refreshTokenReuseIntervalSeconds: number;
  /** [auth.email] enable_confirmations (or NEXUS_AUTH_CONFIRMATIONS). */
  confirmations: boolean;
  /** [auth.email] max_frequency: least time between two emails to one user, seconds. */
  maxFrequencySeconds: number;
  /** [auth.email] otp_expiry: lifetime of an email link, seconds. */
  otpExpirySeconds: number;
}

/** The Supabase CLI's defaults (its config.toml template), for keys the file leaves out. */
export const AUTH_DEFAULTS: AuthSettings = {
  siteUrl: "http://127.0.0.1:3000",
  additionalRedirectUrls: ["https://127.0.0.1:3000"],
  jwtExpirySeconds: 3600,
  minPasswordLength: 6,
  refreshTokenReuseIntervalSeconds: 10,
  confirmations: false,
  maxFrequencySeconds: 1,
  otpExpirySeconds: 3600,
};

type Table = Record<string, unknown>;

const table = (v: unknown): Table => (v && typeof v === "object" && !Array.isArray(v) ? v as Table : {});

function pick<T>(t: Table, key: string, check: (v: unknown) => v is T, fallback: T, where: string): T {
  const v = t[key];
  if (v === undefined) return fallback;
  if (!check(v)) throw new Error(`config.toml: ${where}.${key} has the wrong type`);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** A Go duration ("1s", "1m30s", "500ms"), in seconds. */
export function parseGoDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  if (text === "0") return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new Error(`not a duration: ${JSON.stringify(text)}`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit], 0);
}

/** NEXUS_AUTH_CONFIRMATIONS: true/false (or 1/0); unset leaves config.toml's choice. */
export function confirmationsOverride(value: string | undefined): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (/^(true|1)$/i.test(value)) return true;
  if (/^(false|0)$/i.test(value)) return false;
  throw new Error(`NEXUS_AUTH_CONFIRMATIONS must be true or false, not ${JSON.stringify(value)}`);
}

export function authSettingsFromToml(
  text: string,
  env: Record<string, string | undefined> = {},
): AuthSettings {
  const auth = table(table(parseToml(text)).auth);
  const email = table(auth.email);
  const d = AUTH_DEFAULTS;
  const maxFrequency = pick(email, "max_frequency", isString, "", "auth.email");
  return {
    siteUrl: pick(auth, "site_url", isString, d.siteUrl, "auth"),
    additionalRedirectUrls: pick(
      auth,
      "additional_redirect_urls",
      isStringList,
      d.additionalRedirectUrls,
      "auth",
    ),
    jwtExpirySeconds: pick(auth, "jwt_expiry", isNumber, d.jwtExpirySeconds, "auth"),
    minPasswordLength: pick(auth, "minimum_password_length", isNumber, d.minPasswordLength, "auth"),
    refreshTokenReuseIntervalSeconds: pick(
      auth,
      "refresh_token_reuse_interval",
      isNumber,
      d.refreshTokenReuseIntervalSeconds,
      "auth",
    ),
    confirmations: confirmationsOverride(env.NEXUS_AUTH_CONFIRMATIONS) ??
      pick(email, "enable_confirmations", isBool, d.confirmations, "auth.email"),
    maxFrequencySeconds: maxFrequency === "" ? d.maxFrequencySeconds : parseGoDuration(maxFrequency),
    otpExpirySeconds: pick(email, "otp_expiry", isNumber, d.otpExpirySeconds, "auth.email"),
  };
}

/** The settings of supabase/config.toml (the CLI's defaults if there is none). */
export function loadAuthSettings(
  configFile: string,
  env: Record<string, string | undefined> = Deno.env.toObject(),
): AuthSettings {
  const text = existsSync(configFile) ? Deno.readTextFileSync(configFile) : "";
  return authSettingsFromToml(text, env);
}
