// GET /functions/v1/models: the catalog, with what the caller's tier may use and which
// providers are simulated.

import { createApp, requireUser } from "../_shared/http/app.ts";
import { isChatModel, isShutDown, MODELS } from "../_shared/catalog/index.ts";
import { isSimulated } from "../_shared/providers/registry.ts";
import { servable } from "../_shared/router/index.ts";
import { knownUserQuota } from "../_shared/auth/known-user.ts";
import { userContextHeaders } from "../_shared/http/user-context.ts";
import { toUnits } from "../_shared/money.ts";
import { outputBudget, worstCaseCost } from "../_shared/worst-case.ts";

const app = createApp("models");

app.get("/", requireUser, async (c) => {
  const quota = await knownUserQuota(c.get("user").sub);
  const cap = quota.maxCostPerRequest === null ? null : toUnits(String(quota.maxCostPerRequest));
  const data = MODELS.map((m) => {
    // Available when a short prompt with the default output budget fits the tier's cap.
    const withinCap = !isChatModel(m) || cap === null || toUnits(worstCaseCost(m, 0, outputBudget(m))) <= cap;
    return {
      id: m.id,
      provider: m.provider,
      vendor: m.vendor,
      name: m.name,
      capabilities: m.capabilities,
      contextWindow: m.contextWindow,
      maxOutputTokens: m.maxOutputTokens,
      // The most input tokens one image can cost (vision models; null for the others), so a
      // client can show what an image costs at the input price.
      imageInputTokens: m.imageInputTokens ?? null,
      pricing: m.pricing,
      tiers: m.tiers,
      ...(m.lifecycle ? { lifecycle: m.lifecycle } : {}),
      shutDown: isShutDown(m),
      available: (m.tiers as readonly string[]).includes(quota.tier) && withinCap && servable(m),
      simulated: isSimulated(m.provider),
    };
  });
  return c.json({ data, tier: quota.tier }, 200, userContextHeaders(quota));
});

Deno.serve(app.fetch);
