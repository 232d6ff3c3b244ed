// The informational endpoints: GET /health, /settings and /.well-known/jwks.json, shaped as
// GoTrue's (internal/api/api.go HealthCheck, settings.go, jwks.go) for this project's
// configuration: email sign-ups (autoconfirmed unless confirmations are on), no phone, no
// external providers.

import type { ProjectKeys } from "../keys.ts";
import { json } from "./http.ts";

export function health(): Response {
  return json({
    version: "local",
    name: "GoTrue",
    description: "GoTrue is a user registration and authentication API",
  });
}

const EXTERNAL_PROVIDERS = [
  "anonymous_users",
  "apple",
  "azure",
  "bitbucket",
  "discord",
  "facebook",
  "snapchat",
  "figma",
  "fly",
  "github",
  "gitlab",
  "google",
  "keycloak",
  "kakao",
  "linkedin",
  "linkedin_oidc",
  "notion",
  "spotify",
  "slack",
  "slack_oidc",
  "workos",
  "twitch",
  "twitter",
  "email",
  "phone",
  "zoom",
];

export function settings(confirmations: boolean): Response {
  const external = Object.fromEntries(EXTERNAL_PROVIDERS.map((p) => [p, p === "email"]));
  return json({
    external,
    disable_signup: false,
    mailer_autoconfirm: !confirmations,
    phone_autoconfirm: false,
    sms_provider: "",
    saml_enabled: false,
    saml_private_key_next_configured: false,
    passkeys_enabled: false,
  });
}

export function jwks(keys: ProjectKeys): Response {
  return json(keys.jwks, 200, { "Cache-Control": "public, max-age=600" });
}
