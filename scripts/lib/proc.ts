// Resident memory of the local stack's function processes, read from /proc (Linux): each
// function is a Deno process below the stack's, running supabase/functions/<name>/index.ts.

function childrenOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry.name)]);
    } catch { /* exited */ }
  }
  return children;
}

/** Function name → resident set size in KB, for the functions running under `stackPid`. */
export function functionRssKb(stackPid: number): Map<string, number> {
  const found = new Map<string, number>();
  const children = childrenOf();
  const queue = [...(children.get(stackPid) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    queue.push(...(children.get(pid) ?? []));
    try {
      const name = /\/functions\/([^/]+)\/index\.ts/.exec(Deno.readTextFileSync(`/proc/${pid}/cmdline`))?.[1];
      const rss = /VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
      if (name && rss) found.set(name, (found.get(name) ?? 0) + Number(rss));
    } catch { /* exited */ }
  }
  return found;
}

/** Least-squares slope of y over x. */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}
