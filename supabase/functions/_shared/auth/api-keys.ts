// Platform API keys: "nx_" + 32 random bytes (base64url). Only a SHA-256 of the key is stored;
// the key itself is shown once. 256 random bits need no slow hash: nothing to brute-force.

const PREFIX = "nx_";

export function isApiKey(token: string): boolean {
  return token.startsWith(PREFIX);
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function newApiKey(): Promise<{ key: string; prefix: string; hash: string }> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const key = PREFIX +
    btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return { key, prefix: key.slice(0, PREFIX.length + 8), hash: await hashApiKey(key) };
}
