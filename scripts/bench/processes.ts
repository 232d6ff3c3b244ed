// The bench's view of the machine's processes (Linux /proc): which process is which part of
// the system under test, and how much CPU each has used. CPU per request is how the report
// explains a throughput figure: on a saturated machine, requests/s is cores over CPU/request.

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const TICK_MS = 10;

export interface ProcessInfo {
  pid: number;
  ppid: number;
  cmdline: string;
  /** user + system CPU time used so far, ms */
  cpuMs: number;
}

export function processes(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      // fields after the command name (which may hold spaces), from field 3 (state) on
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({
        pid: Number(entry.name),
        ppid: Number(fields[1]),
        cmdline: Deno.readTextFileSync(`/proc/${entry.name}/cmdline`).replaceAll("\0", " "),
        cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS,
      });
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** The process and every process below it. */
export function withDescendants(pid: number, all = processes()): ProcessInfo[] {
  const found = all.filter((p) => p.pid === pid);
  for (let i = 0; i < found.length; i++) found.push(...all.filter((p) => p.ppid === found[i].pid));
  return found;
}

/** The chat function's process, below the stack's process. */
export function chatFunction(stackPid: number, all = processes()): ProcessInfo | undefined {
  return withDescendants(stackPid, all).find((p) => p.cmdline.includes("/functions/chat/index.ts"));
}

/** The Postgres server listening on `port` (its postmaster) and all its processes. */
export function postgresServer(port: number, all = processes()): ProcessInfo[] {
  const postmaster = all.find((p) => /\/postgres\s/.test(p.cmdline) && p.cmdline.includes(` -p ${port} `));
  return postmaster ? withDescendants(postmaster.pid, all) : [];
}

/**
 * CPU used by each named group of processes while `work` runs, ms. A group is found again at
 * the end, so processes that start meanwhile (new database backends) count from zero.
 */
export async function cpuDuring<T>(
  groups: Record<string, (all: ProcessInfo[]) => ProcessInfo[]>,
  work: () => Promise<T>,
): Promise<{ result: T; cpuMs: Record<string, number> }> {
  const before = new Map(processes().map((p) => [p.pid, p.cpuMs]));
  const result = await work();
  const all = processes();
  const cpuMs = Object.fromEntries(
    Object.entries(groups).map(([name, find]) => [
      name,
      find(all).reduce((sum, p) => sum + p.cpuMs - (before.get(p.pid) ?? 0), 0),
    ]),
  );
  return { result, cpuMs };
}
