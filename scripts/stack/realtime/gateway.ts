// The API gateway in front of Realtime: a request must carry one of the project's API keys (anon
// or service role), in the `apikey` header or query parameter — the same check the gateway
// makes for /auth/v1 (scripts/stack/auth/service.ts).

export function apiKeyOf(req: Request, url: URL): string | null {
  return req.headers.get("apikey") ?? url.searchParams.get("apikey");
}

export function checkApiKey(apikey: string | null, knownKeys: Set<string>): Response | null {
  if (apikey === null) return Response.json({ message: "No API key found in request" }, { status: 401 });
  if (!knownKeys.has(apikey)) {
    return Response.json(
      { message: "Invalid API key", hint: "Double check your Supabase `anon` or `service_role` API key." },
      { status: 401 },
    );
  }
  return null;
}
