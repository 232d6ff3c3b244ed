// The floor under any gateway on this machine: a bare pass-through proxy in the same runtime as
// the functions (Deno.serve + fetch), with no auth, no database, no parsing and no logging. It
// forwards each request to the simulated provider and pipes its answer back. What it costs over
// calling the provider directly is the price of one more HTTP hop; what /chat costs over it is
// the price of its features.
//
// deno run --allow-net scripts/bench/bare-proxy.ts <simulated OpenAI base URL, …/v1>

const upstream = Deno.args[0]?.replace(/\/$/, "");
if (!upstream) throw new Error("usage: bare-proxy.ts <upstream base URL>");

Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`NEXUS_LISTENING ${port}`),
}, async (req) => {
  const path = new URL(req.url).pathname.replace(/^\/v1/, "");
  const answer = await fetch(upstream + path, {
    method: req.method,
    headers: pick(req.headers, ["authorization", "content-type"]),
    body: req.body,
  });
  return new Response(answer.body, {
    status: answer.status,
    headers: pick(answer.headers, ["content-type"]),
  });
});

function pick(headers: Headers, names: string[]): Headers {
  const out = new Headers();
  for (const name of names) {
    const value = headers.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}
