// The local stack's outbox, in place of the mail server a hosted project sends through (the
// Supabase CLI catches its mail in Inbucket/Mailpit the same way): every email the Auth stand-in
// sends is kept here, in memory, and announced on the stack's console with its link. Read it over
// HTTP on the API origin: GET /__mailbox?email=<address> → {"messages":[…]}, oldest first.

export interface Mail {
  id: string;
  to: string;
  subject: string;
  /** What the mail is for, as GoTrue's email action types: "signup". */
  type: string;
  /** The link to follow (GoTrue's ConfirmationURL). */
  actionLink: string;
  html: string;
  sentAt: string;
}

/** The oldest mail goes once this many are kept (the stack may run for days). */
const CAPACITY = 1000;

export class Mailbox {
  #mails: Mail[] = [];

  constructor(private readonly onDeliver: (mail: Mail) => void = () => {}) {}

  deliver(mail: Omit<Mail, "id" | "sentAt">): Mail {
    const full = { id: crypto.randomUUID(), ...mail, sentAt: new Date().toISOString() };
    this.#mails.push(full);
    if (this.#mails.length > CAPACITY) this.#mails.shift();
    this.onDeliver(full);
    return full;
  }

  /** Mails to this address (any case), or all of them. */
  list(email?: string | null): Mail[] {
    if (!email) return [...this.#mails];
    const to = email.toLowerCase();
    return this.#mails.filter((m) => m.to.toLowerCase() === to);
  }

  /** GET /__mailbox[?email=…]. */
  handle(req: Request, url: URL): Response {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { Allow: "GET, HEAD" } });
    }
    return Response.json({ messages: this.list(url.searchParams.get("email")) }, {
      headers: { "Cache-Control": "no-store" },
    });
  }
}
