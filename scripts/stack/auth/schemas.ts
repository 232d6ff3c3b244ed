// The request bodies the endpoints accept, as zod schemas mirroring GoTrue's Go parameter
// structs: unknown fields are ignored (supabase-js sends e.g. `gotrue_meta_security`,
// `code_challenge`), JSON `null` counts as absent (Go leaves the zero value), and only a value of
// the wrong JSON type is a decode error.

import { z } from "zod";

const str = z.string().nullish().transform((v) => v ?? "");
const optionalStr = z.string().nullish().transform((v) => v ?? undefined);
const metadata = z.record(z.string(), z.unknown()).nullish().transform((v) => v ?? undefined);

/** POST /signup (SignupParams). */
export const signupBody = z.object({
  email: str,
  phone: str,
  password: str,
  data: metadata,
  channel: str,
  code_challenge: str,
  code_challenge_method: str,
});

/** POST /token?grant_type=password (PasswordGrantParams). */
export const passwordGrantBody = z.object({
  email: str,
  phone: str,
  password: str,
});

/** POST /token?grant_type=refresh_token (RefreshTokenGrantParams). */
export const refreshGrantBody = z.object({
  refresh_token: str,
});

/** PUT /user (UserUpdateParams). `password` is a pointer in Go: absent and "" differ. */
export const userUpdateBody = z.object({
  email: str,
  phone: str,
  password: optionalStr,
  current_password: optionalStr,
  nonce: str,
  data: metadata,
  app_metadata: metadata,
  channel: str,
  code_challenge: str,
  code_challenge_method: str,
});

/** POST /token?grant_type=pkce (PKCEGrantParams). */
export const pkceGrantBody = z.object({
  auth_code: str,
  code_verifier: str,
});

/** POST /resend (ResendConfirmationParams). */
export const resendBody = z.object({
  type: str,
  email: str,
  phone: str,
  code_challenge: str,
  code_challenge_method: str,
});
