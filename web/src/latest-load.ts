// Loads of one list where the latest one started wins. Reloads on live events and after actions
// can answer out of order (the sign-in's load, answering late, once wiped an invitation that had
// just arrived): an earlier load's answer is dropped, and its caller is done when the latest is,
// so whoever awaited a load sees the list it asked for. reset() drops every load in flight (a
// sign-out: the previous account's answers are never shown).

export function latestLoads() {
  let generation = 0;
  let latest: Promise<void> = Promise.resolve();
  /** Whether no load started (and no reset happened) since this was taken. */
  const stamp = () => {
    const mine = generation;
    return () => mine === generation;
  };
  return {
    stamp,
    /** Runs `load` as the latest; it checks `current()` after each await and stops when superseded. */
    start(load: (current: () => boolean) => Promise<void>): Promise<void> {
      generation++;
      const current = stamp();
      const run: Promise<void> = load(current).then(() => current() ? undefined : latest);
      latest = run;
      return run;
    },
    reset() {
      generation++;
      latest = Promise.resolve();
    },
  };
}
