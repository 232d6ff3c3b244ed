// What every handler needs: the database, the signing settings and the project's auth policy
// (the values of supabase/config.toml's [auth] section that this stand-in honours).

import type postgres from "postgres";
import type { Verifier } from "./authenticate.ts";
import type { Mailbox } from "./mailbox.ts";
import type { RedirectPolicy } from "./redirect.ts";
import type { TokenSettings } from "./tokens.ts";

export interface AuthContext extends TokenSettings {
  sql: postgres.Sql;
  verify: Verifier;
  /** [auth] minimum_password_length */
  minPasswordLength: number;
  /** [auth] refresh_token_reuse_interval */
  refreshTokenReuseIntervalSeconds: number;
  /** [auth] site_url and additional_redirect_urls */
  redirects: RedirectPolicy;
  /** [auth.email] enable_confirmations: sign-ups confirm their address by email (GoTrue's
   * MAILER_AUTOCONFIRM off). */
  confirmations: boolean;
  /** [auth.email] max_frequency, seconds */
  maxFrequencySeconds: number;
  /** [auth.email] otp_expiry, seconds */
  otpExpirySeconds: number;
  /** Where the emails go. */
  mailbox: Mailbox;
}
