// Writes the ends of requests (settlements and releases) in batches: group commit for metering.
// One batch is written at a time; every ending that arrives meanwhile waits for the next one, so
// at one request at a time each batch holds a single ending and nothing waits for company,
// while under load one statement and one commit end many requests (public.end_requests).
// Writing starts on a later turn of the event loop, never on the caller's: an ending is handed
// over as its response is being returned, and building and sending a statement must not delay it.

import type postgres from "postgres";
import { db, isDatabaseUnavailable } from "./db.ts";

/** One request's end, in public.end_requests' shape (see its migration). */
export type Ending = { kind: "settle" | "release"; requestId: string; [field: string]: postgres.JSONValue };

interface Pending {
  ending: Ending;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** Endings per statement at most (answers' text rides along: keep statements moderate). */
const MAX_BATCH = 64;

export class EndingWriter {
  #queue: Pending[] = [];
  /** Whether a drain is scheduled or running (it takes whatever is queued until it is empty). */
  #draining = false;

  /** Resolves once the ending is committed; rejects with the database's error otherwise. */
  write(ending: Ending): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ ending, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        setTimeout(() => void this.#drain(), 0);
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length) await this.#write(this.#queue.splice(0, MAX_BATCH));
    } finally {
      this.#draining = false;
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    try {
      await db()`select public.end_requests(${db().json(batch.map((p) => p.ending))})`;
      for (const p of batch) p.resolve();
    } catch (e) {
      // Unreachable database: every caller retries its own ending (untilDatabaseAnswers).
      // Any other error belongs to one ending (or to a deadlock between two batches): write
      // them one by one, so one ending's failure is not the others'.
      if (batch.length === 1 || isDatabaseUnavailable(e)) {
        for (const p of batch) p.reject(e);
        return;
      }
      for (const p of batch) await this.#write([p]);
    }
  }
}

/** The instance's writer. */
export const endings = new EndingWriter();
