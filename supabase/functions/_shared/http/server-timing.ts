// Server-Timing (https://www.w3.org/TR/server-timing/): how long each phase of a request took,
// for browsers' dev tools, the benchmarks and anyone looking for where the time goes.

export class ServerTiming {
  #last = performance.now();
  #entries: string[] = [];

  /** Records the time since the previous mark under `name`. */
  mark(name: string): void {
    const now = performance.now();
    this.#entries.push(`${name};dur=${(now - this.#last).toFixed(2)}`);
    this.#last = now;
  }

  header(): string {
    return this.#entries.join(", ");
  }
}
