// What every handler needs: the database, the signing settings and the project's auth policy
// (the values of supabase/config.toml's [auth] section that this stand-in honours).

import type postgres from "postgres";
import type { Verifier } from "./authenticate.ts";
import type { TokenSettings } from "./tokens.ts";

export interface AuthContext extends TokenSettings {
  sql: postgres.Sql;
  verify: Verifier;
  /** [auth] minimum_password_length */
  minPasswordLength: number;
  /** [auth] refresh_token_reuse_interval */
  refreshTokenReuseIntervalSeconds: number;
}
