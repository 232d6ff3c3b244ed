// The simulated providers' control endpoints (scripts/simulators/control.ts), for tests that
// inject faults or count the calls a provider received.

import { stack } from "./stack.ts";

export function simulatorUrl(provider = "openai"): string {
  return (stack() as unknown as { simulators: Record<string, string> }).simulators[provider];
}

/** Replaces the simulator's fault plan with `rules` (one rule or a list, used in order). */
export async function setFaults(rules: unknown, provider = "openai"): Promise<void> {
  const res = await fetch(new URL("/__simulator/faults", simulatorUrl(provider)), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(rules),
  });
  if (!res.ok) throw new Error(`fault plan refused: ${res.status} ${await res.text()}`);
  await res.body?.cancel();
}

export async function clearFaults(provider = "openai"): Promise<void> {
  const res = await fetch(new URL("/__simulator/faults", simulatorUrl(provider)), { method: "DELETE" });
  await res.body?.cancel();
}

/** Generation requests the simulator has received so far. */
export async function simulatorRequests(provider = "openai"): Promise<number> {
  const res = await fetch(new URL("/__simulator/stats", simulatorUrl(provider)));
  return (await res.json()).requests;
}
