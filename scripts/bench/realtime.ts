// Realtime through supabase-js against the Realtime stand-in: broadcast fan-out (one sender,
// many subscribers on one channel; time from send to each receipt, all clients in this process
// so one clock) and a typing round trip (A sends, B answers at once, A times it).

import { createClient } from "@supabase/supabase-js";
import { percentile, round, sleep, sorted } from "./stats.ts";

export interface RealtimePlan {
  subscribers: number;
  ticks: number;
  roundTrips: number;
}

export async function benchRealtime(stack: { apiUrl: string; anonKey: string }, plan: RealtimePlan) {
  const client = () =>
    createClient(stack.apiUrl, stack.anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
  type Channel = ReturnType<ReturnType<typeof client>["channel"]>;
  const subscribed = (channel: Channel) =>
    new Promise<void>((resolve, reject) =>
      channel.subscribe((status) =>
        status === "SUBSCRIBED" ? resolve() : status === "CHANNEL_ERROR" && reject(new Error(status))
      )
    );
  const fanout: number[] = [];
  const clients = Array.from({ length: plan.subscribers + 3 }, client);
  const [sender, a, b, ...receivers] = clients;
  try {
    const channels = receivers.map((c) =>
      c.channel("bench:fanout").on(
        "broadcast",
        { event: "tick" },
        ({ payload }) => fanout.push(performance.now() - payload.t),
      )
    );
    for (let i = 0; i < channels.length; i += 25) {
      await Promise.all(channels.slice(i, i + 25).map(subscribed));
    }
    const out = sender.channel("bench:fanout");
    await subscribed(out);
    for (let i = 0; i < plan.ticks; i++) {
      await out.send({ type: "broadcast", event: "tick", payload: { t: performance.now() } });
      await sleep(50);
    }
    const deadline = Date.now() + 5000;
    while (fanout.length < plan.ticks * plan.subscribers && Date.now() < deadline) await sleep(20);

    const rtt: number[] = [];
    let pending: ((t: number) => void) | undefined;
    const chA = a.channel("bench:typing").on(
      "broadcast",
      { event: "typing-ack" },
      ({ payload }) => pending?.(payload.t),
    );
    const chB = b.channel("bench:typing");
    chB.on(
      "broadcast",
      { event: "typing" },
      ({ payload }) => chB.send({ type: "broadcast", event: "typing-ack", payload }),
    );
    await Promise.all([subscribed(chA), subscribed(chB)]);
    for (let i = 0; i < plan.roundTrips; i++) {
      const t = performance.now();
      // only this round's answer counts (a late one from a timed-out round does not)
      const back = new Promise<void>((resolve) => (pending = (echoed) => echoed === t && resolve()));
      await chA.send({ type: "broadcast", event: "typing", payload: { t } });
      await Promise.race([back.then(() => rtt.push(performance.now() - t)), sleep(2000)]);
    }
    const f = sorted(fanout), r = sorted(rtt);
    return {
      subscribers: plan.subscribers,
      broadcasts: plan.ticks,
      deliveries: fanout.length,
      expectedDeliveries: plan.ticks * plan.subscribers,
      fanoutP50Ms: round(percentile(f, 50)),
      fanoutP99Ms: round(percentile(f, 99)),
      typingRoundTripP50Ms: round(percentile(r, 50)),
      typingRoundTripP99Ms: round(percentile(r, 99)),
      typingRoundTrips: rtt.length,
    };
  } finally {
    await Promise.all(clients.map((c) => c.removeAllChannels()));
  }
}
