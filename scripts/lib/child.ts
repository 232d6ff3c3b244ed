// Stopping a child process the way every script here does: ask (SIGTERM), and after a grace
// period insist (SIGKILL); resolves once it has exited.

export async function terminate(child: Deno.ChildProcess, graceMs: number): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone meanwhile */ }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}
