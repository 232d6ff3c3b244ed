// Email confirmations in the Auth stand-in, the path every user of a hosted project takes (Supabase
// confirms emails by default): sign up, get no session, follow the emailed link, come back signed
// in. Judged by @supabase/supabase-js, against a stack of its own started with
// NEXUS_AUTH_CONFIRMATIONS=true (the test stack autoconfirms, as config.toml says). The links are
// read from the stack's mailbox (GET /__mailbox) and followed without the redirect, so each
// Location is checked as GoTrue writes it. One database write ages a link past its expiry.

import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { AuthApiError, createClient, type SupabaseClient } from "@supabase/supabase-js";
import { ROOT, type StackProcess, startStack } from "../../scripts/lib/stack-process.ts";

const NAME = "confirm-test";
// Beside the test stack's ports (and the lifecycle test's, +30…+32), so runs on other ports do not collide.
const BASE_PORT = Number(Deno.env.get("NEXUS_TEST_API_PORT") ?? "25431") + 33;
const PORTS = { api: String(BASE_PORT), db: String(BASE_PORT + 1), web: String(BASE_PORT + 2) };
const PASSWORD = "correct-horse-1";
/** config.toml's [auth] site_url: where a link goes when its redirect is not allowed. */
const SITE_URL = "http://127.0.0.1:3000";
const LINK_ERROR =
  "#error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired&sb=";

interface Mail {
  to: string;
  subject: string;
  type: string;
  actionLink: string;
  html: string;
}

Deno.test({
  name: "email confirmations (NEXUS_AUTH_CONFIRMATIONS=true): sign up, confirm by link, signed in",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const stack: StackProcess = await startStack({
      name: NAME,
      ports: PORTS,
      env: { NEXUS_AUTH_CONFIRMATIONS: "true" },
    });
    const { apiUrl, anonKey, webUrl, dbUrl } = stack.info;
    const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
    /** Where the web client asks links to return: its own origin (a loopback address, so allowed). */
    const redirect = `${webUrl}/`;

    const client = (flowType: "implicit" | "pkce" = "implicit"): SupabaseClient =>
      createClient(apiUrl, anonKey, { auth: { persistSession: false, autoRefreshToken: false, flowType } });
    const uniqueEmail = (tag: string) => `confirm-${tag}-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const mails = async (email: string): Promise<Mail[]> => {
      const res = await fetch(`${apiUrl}/__mailbox?email=${encodeURIComponent(email)}`, {
        signal: AbortSignal.timeout(10_000),
      });
      assert.equal(res.status, 200);
      return (await res.json()).messages;
    };
    const lastLink = async (email: string) => {
      const list = await mails(email);
      assert.ok(list.length > 0, `a mail to ${email}`);
      return list.at(-1)!.actionLink;
    };
    /** Opens a link as a browser would, without following the redirect: the Location it gives. */
    const follow = async (link: string) => {
      const res = await fetch(link, { redirect: "manual", signal: AbortSignal.timeout(10_000) });
      await res.body?.cancel();
      assert.equal(res.status, 303, `303 from ${link}`);
      return res.headers.get("location")!;
    };
    const fragment = (location: string) => new URLSearchParams(location.slice(location.indexOf("#") + 1));
    const claims = (jwt: string) =>
      JSON.parse(atob(jwt.split(".")[1].replaceAll("-", "+").replaceAll("_", "/")));
    const signUp = async (email: string, options: { emailRedirectTo?: string; data?: object } = {}) =>
      await client().auth.signUp({
        email,
        password: PASSWORD,
        options: { emailRedirectTo: redirect, ...options },
      });
    const waitPastMaxFrequency = () => new Promise((r) => setTimeout(r, 1_100)); // [auth.email] max_frequency 1s

    try {
      const first = uniqueEmail("first");
      let firstUserId = "";
      let firstLink = "";

      await t.step(
        "signUp answers with the user and no session; the link is in the mailbox and on the console",
        async () => {
          const { data, error } = await signUp(first.toUpperCase(), { data: { display_name: "Ada" } });
          assert.equal(error, null);
          assert.equal(data.session, null, "no session before the address is confirmed");
          const user = data.user!;
          firstUserId = user.id;
          assert.equal(user.email, first);
          assert.equal(user.role, "authenticated");
          assert.equal(user.email_confirmed_at, undefined);
          assert.equal(user.confirmed_at, undefined);
          assert.equal(user.last_sign_in_at, undefined);
          assert.ok(Math.abs(Date.parse(user.confirmation_sent_at!) - Date.now()) < 60_000);
          assert.equal(user.identities?.length, 1, "a new account: one identity");
          assert.deepEqual(user.user_metadata, {
            display_name: "Ada",
            sub: user.id,
            email: first,
            email_verified: false,
            phone_verified: false,
          });

          const inbox = await mails(first);
          assert.equal(inbox.length, 1);
          assert.equal(inbox[0].subject, "Confirm your email address");
          assert.equal(inbox[0].type, "signup");
          firstLink = inbox[0].actionLink;
          assert.match(
            firstLink,
            new RegExp(`^${apiUrl}/auth/v1/verify\\?token=[0-9a-f]{56}&type=signup&redirect_to=${redirect}$`),
          );
          assert.ok(inbox[0].html.includes(firstLink.replaceAll("&", "&amp;")), "the link is in the mail");
          const log = await Deno.readTextFile(join(ROOT, ".local", `${NAME}-stack.log`));
          assert.ok(log.includes(firstLink), "the stack's console shows the link");

          const settings = await (await fetch(`${apiUrl}/auth/v1/settings`, { headers: { apikey: anonKey } }))
            .json();
          assert.equal(settings.mailer_autoconfirm, false);
        },
      );

      await t.step("signInWithPassword is refused with email_not_confirmed until then", async () => {
        const { data, error } = await client().auth.signInWithPassword({ email: first, password: PASSWORD });
        assert.ok(error instanceof AuthApiError, String(error));
        assert.equal(error.status, 400);
        assert.equal(error.code, "email_not_confirmed");
        assert.equal(error.message, "Email not confirmed");
        assert.equal(data.session, null);
        // A wrong password says nothing about the address.
        const wrong = await client().auth.signInWithPassword({ email: first, password: "not-it-at-all" });
        assert.equal((wrong.error as AuthApiError).code, "invalid_credentials");
      });

      await t.step(
        "the link confirms, starts a session and returns to redirect_to with it in the fragment",
        async () => {
          const location = await follow(firstLink);
          assert.ok(location.startsWith(`${redirect}#access_token=`), location);
          const params = fragment(location);
          // url.Values.Encode: sorted by key.
          assert.deepEqual([...params.keys()], [
            "access_token",
            "expires_at",
            "expires_in",
            "refresh_token",
            "sb",
            "token_type",
            "type",
          ]);
          assert.equal(params.get("type"), "signup");
          assert.equal(params.get("token_type"), "bearer");
          assert.equal(params.get("expires_in"), "3600");
          assert.equal(params.get("sb"), "");
          const accessToken = params.get("access_token")!;
          assert.equal(claims(accessToken).sub, firstUserId);
          assert.equal(claims(accessToken).amr[0].method, "otp");

          // What supabase-js does with such a URL (detectSessionInUrl): keeps the session, reads the user.
          const supabase = client();
          const { data, error } = await supabase.auth.setSession({
            access_token: accessToken,
            refresh_token: params.get("refresh_token")!,
          });
          assert.equal(error, null);
          const user = data.user!;
          assert.equal(user.id, firstUserId);
          assert.ok(user.email_confirmed_at, "confirmed");
          assert.equal(user.confirmed_at, user.email_confirmed_at);
          assert.ok(user.last_sign_in_at);
          assert.equal(user.user_metadata.email_verified, true);
          assert.equal(user.identities?.[0].identity_data?.email_verified, true);

          // The session lives on: it refreshes, and still says how it began.
          const refreshed = await supabase.auth.refreshSession();
          assert.equal(refreshed.error, null);
          assert.equal(claims(refreshed.data.session!.access_token).amr[0].method, "otp");

          // And the password works now.
          const signIn = await client().auth.signInWithPassword({ email: first, password: PASSWORD });
          assert.equal(signIn.error, null);
          assert.equal(signIn.data.user?.id, firstUserId);
          assert.equal(claims(signIn.data.session!.access_token).amr[0].method, "password");
          const [row] =
            await sql`select email_confirmed_at is not null as confirmed from auth.users where id = ${firstUserId}`;
          assert.equal(row.confirmed, true);
        },
      );

      await t.step("a link works once: used again, it returns with GoTrue's error", async () => {
        assert.equal(await follow(firstLink), `${redirect}${LINK_ERROR}`);
      });

      await t.step(
        "a confirmed address signing up again is answered as a new one, revealing nothing",
        async () => {
          const { data, error } = await client().auth.signUp({
            email: first,
            password: "another-password-2",
            options: { emailRedirectTo: redirect, data: { display_name: "Mallory" } },
          });
          assert.equal(error, null, "no user_already_exists");
          assert.equal(data.session, null);
          const user = data.user!;
          assert.notEqual(user.id, firstUserId, "a made-up id");
          assert.equal(user.email, first);
          assert.deepEqual(user.identities, [], "supabase-js's documented sign of an existing account");
          assert.deepEqual(user.user_metadata, { display_name: "Mallory" });
          assert.equal(user.email_confirmed_at, undefined);
          assert.equal((await mails(first)).length, 1, "no email is sent");
          // The account is untouched: the old password still works, the new one does not.
          assert.equal(
            (await client().auth.signInWithPassword({ email: first, password: PASSWORD })).error,
            null,
          );
          const other = await client().auth.signInWithPassword({
            email: first,
            password: "another-password-2",
          });
          assert.equal((other.error as AuthApiError).code, "invalid_credentials");
        },
      );

      await t.step(
        "an unconfirmed address signing up again gets a new link, which replaces the old one",
        async () => {
          const email = uniqueEmail("again");
          const one = await signUp(email);
          assert.equal(one.error, null);
          const oldLink = await lastLink(email);
          // Within [auth.email] max_frequency: refused, as GoTrue refuses it.
          const tooSoon = await signUp(email);
          assert.ok(tooSoon.error instanceof AuthApiError, String(tooSoon.error));
          assert.equal(tooSoon.error.status, 429);
          assert.equal(tooSoon.error.code, "over_email_send_rate_limit");
          assert.match(
            tooSoon.error.message,
            /^For security purposes, you can only request this after \d+ seconds\.$/,
          );

          await waitPastMaxFrequency();
          const two = await signUp(email);
          assert.equal(two.error, null);
          assert.equal(two.data.session, null);
          assert.equal(two.data.user?.id, one.data.user?.id, "the same (unconfirmed) account");
          assert.equal(two.data.user?.identities?.length, 1);
          assert.equal((await mails(email)).length, 2);
          const newLink = await lastLink(email);
          assert.notEqual(newLink, oldLink);
          assert.equal(await follow(oldLink), `${redirect}${LINK_ERROR}`);
          assert.ok((await follow(newLink)).startsWith(`${redirect}#access_token=`));
        },
      );

      await t.step(
        "resend: a new link for an unconfirmed address, nothing (and no hint) otherwise",
        async () => {
          const email = uniqueEmail("resend");
          assert.equal((await signUp(email)).error, null);
          const oldLink = await lastLink(email);
          await waitPastMaxFrequency();
          const { error } = await client().auth.resend({
            type: "signup",
            email,
            options: { emailRedirectTo: redirect },
          });
          assert.equal(error, null);
          assert.equal((await mails(email)).length, 2);
          assert.equal(await follow(oldLink), `${redirect}${LINK_ERROR}`);
          assert.ok((await follow(await lastLink(email))).startsWith(`${redirect}#access_token=`));

          for (const other of [uniqueEmail("nobody"), email /* confirmed now */]) {
            const before = (await mails(other)).length;
            const again = await client().auth.resend({ type: "signup", email: other });
            assert.equal(again.error, null);
            assert.equal((await mails(other)).length, before, `no mail to ${other}`);
          }
        },
      );

      await t.step("links return only where GoTrue allows, else to the site URL", async () => {
        const email = uniqueEmail("elsewhere");
        assert.equal(
          (await signUp(email, { emailRedirectTo: "https://evil.example.com/welcome" })).error,
          null,
        );
        const link = await lastLink(email);
        assert.ok(link.endsWith(`&redirect_to=${SITE_URL}`), link);
        // The link's own redirect_to is checked again when it is followed.
        const tampered = link.replace(/redirect_to=.*$/, "redirect_to=https://evil.example.com/welcome");
        assert.ok((await follow(tampered)).startsWith(`${SITE_URL}#access_token=`));
      });

      await t.step("an expired link is refused, and the account stays unconfirmed", async () => {
        const email = uniqueEmail("expired");
        assert.equal((await signUp(email)).error, null);
        // [auth.email] otp_expiry is an hour.
        await sql`update auth.users set confirmation_sent_at = confirmation_sent_at - interval '61 minutes' where email = ${email}`;
        assert.equal(await follow(await lastLink(email)), `${redirect}${LINK_ERROR}`);
        const signIn = await client().auth.signInWithPassword({ email, password: PASSWORD });
        assert.equal((signIn.error as AuthApiError).code, "email_not_confirmed");
        // A made-up token fares the same.
        const forged = (await lastLink(email)).replace(/token=[0-9a-f]+/, `token=${"0".repeat(56)}`);
        assert.equal(await follow(forged), `${redirect}${LINK_ERROR}`);
      });

      await t.step(
        "PKCE: the link returns with ?code=, which the client exchanges for a session",
        async () => {
          const email = uniqueEmail("pkce");
          const supabase = client("pkce");
          const { data, error } = await supabase.auth.signUp({
            email,
            password: PASSWORD,
            options: { emailRedirectTo: redirect },
          });
          assert.equal(error, null);
          assert.equal(data.session, null);
          const link = await lastLink(email);
          assert.match(link, /token=pkce_[0-9a-f]{56}&/);
          const location = await follow(link);
          const code = new URL(location).searchParams.get("code");
          assert.match(code ?? "", /^[0-9a-f-]{36}$/, location);
          assert.equal(location, `${redirect}?code=${code}`);

          const exchanged = await supabase.auth.exchangeCodeForSession(code!);
          assert.equal(exchanged.error, null);
          assert.equal(exchanged.data.user?.email, email);
          assert.ok(exchanged.data.user?.email_confirmed_at);
          assert.equal(claims(exchanged.data.session!.access_token).amr[0].method, "email/signup");
          // The code is spent (asked directly: supabase-js forgets its verifier after the exchange).
          const again = await fetch(`${apiUrl}/auth/v1/token?grant_type=pkce`, {
            method: "POST",
            headers: {
              apikey: anonKey,
              "content-type": "application/json",
              "x-supabase-api-version": "2024-01-01",
            },
            body: JSON.stringify({ auth_code: code, code_verifier: "v".repeat(43) }),
          });
          assert.equal(again.status, 404);
          assert.equal((await again.json()).code, "flow_state_not_found");
          // And the used link fails the PKCE way: the error in the query as well as the fragment.
          const failed = await follow(link);
          assert.equal(
            failed,
            `${redirect}?error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired${LINK_ERROR}`,
          );
        },
      );
    } finally {
      await sql.end();
      await stack.stop();
    }
  },
});
