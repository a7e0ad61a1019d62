/**
 * The platform floor, per scenario: a Worker that does only the platform operations a scenario
 * cannot do without (its HTTP requests, its Durable Object round trips, its rows written, its D1
 * reads), and nothing else: no parsing, no client authentication, no signing. It runs in the same
 * workerd as edge-op, so "edge-op ÷ floor" says how far edge-op is from what the platform itself
 * costs for the same protocol work. Every one-time thing lives in its own SQLite-backed object,
 * written through the synchronous KV API (no `CREATE TABLE`), with one alarm for its expiry;
 * spending it is one deleteAll(), which also removes the alarm (compatibility date ≥ 2026-02-24).
 *
 *   GET  /hello                      client_credentials: one request, no storage
 *
 *   POST /floor/ciba/start           CIBA poll flow (4 requests, 4 RPCs, 3 rows + a deleteAll, no D1):
 *   POST /floor/ciba/poll              create: 1 row + setAlarm · poll: a read ·
 *   POST /floor/ciba/approve           approve: 1 row · token: deleteAll (the row and the alarm)
 *   POST /floor/ciba/token
 *
 *   POST /floor/par/push             PAR push + /authorize (2 requests, 2 RPCs, 2 rows):
 *   GET  /floor/par/authorize          push: 1 row + setAlarm · authorize: a read
 *
 *   POST /floor/code/par             code flow (4 requests, 3 RPCs, 3 rows + a deleteAll, 2 D1 reads):
 *   GET  /floor/code/authorize         push: 1 row + setAlarm · authorize: the session read from
 *   POST /floor/code/token             D1, then one RPC that spends the request and stores the code
 *   GET  /floor/code/userinfo          in its place (1 row) · token: deleteAll · userinfo: the
 *                                      user read from D1
 *
 *   POST /floor/setup                the D1 tables and one session and user (once, before a run)
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

interface FloorEnv {
  FLOOR_OBJECTS: DurableObjectNamespace<FloorObject>;
  FLOOR_DB: D1Database;
}

/** Lifetime of a one-time thing before its alarm deletes it (never reached in a run). */
const EXPIRY_MS = 300_000;

export class FloorObject extends DurableObject<FloorEnv> {
  /** Stores a new one-time record and schedules its clean-up: 1 row + 1 setAlarm. */
  async create(record: string): Promise<void> {
    this.ctx.storage.kv.put("r", record);
    await this.ctx.storage.setAlarm(Date.now() + EXPIRY_MS);
  }

  /** Reads the record: a poll, a resolution. */
  async read(): Promise<string | undefined> {
    return this.ctx.storage.kv.get<string>("r");
  }

  /** Replaces the record (an approval, a pushed request spent into a code): 1 row. */
  async replace(record: string): Promise<boolean> {
    if (this.ctx.storage.kv.get("r") === undefined) return false;
    this.ctx.storage.kv.put("r", record);
    return true;
  }

  /** Spends the record once (tokens): the row and the alarm go (deleteAll). */
  async redeem(): Promise<string | undefined> {
    const record = this.ctx.storage.kv.get<string>("r");
    if (record !== undefined) await this.ctx.storage.deleteAll();
    return record;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}

const app = new Hono<{ Bindings: FloorEnv }>();

const objectOf = (env: FloorEnv, id: string) => env.FLOOR_OBJECTS.get(env.FLOOR_OBJECTS.idFromString(id));

async function created(env: FloorEnv, record: string): Promise<string> {
  const id = env.FLOOR_OBJECTS.newUniqueId();
  await env.FLOOR_OBJECTS.get(id).create(record);
  return id.toString();
}

async function idFrom(c: { req: { text(): Promise<string> } }): Promise<string> {
  return new URLSearchParams(await c.req.text()).get("id") ?? "";
}

app.get("/hello", (c) => c.json({ ok: true }));

// CIBA poll flow
app.post("/floor/ciba/start", async (c) => c.json({ auth_req_id: await created(c.env, "pending") }));
app.post("/floor/ciba/poll", async (c) => {
  const record = await objectOf(c.env, await idFrom(c)).read();
  return c.json({ error: record === "pending" ? "authorization_pending" : "invalid_grant" }, 400);
});
app.post("/floor/ciba/approve", async (c) => {
  const ok = await objectOf(c.env, await idFrom(c)).replace("approved");
  return c.json({ status: ok ? "approved" : "not_found" }, ok ? 200 : 409);
});
app.post("/floor/ciba/token", async (c) => {
  const record = await objectOf(c.env, await idFrom(c)).redeem();
  return record === "approved"
    ? c.json({ access_token: "floor", id_token: "floor" })
    : c.json({ error: "invalid_grant" }, 400);
});

// PAR push + resolution at /authorize
app.post("/floor/par/push", async (c) => c.json({ request_uri: await created(c.env, "pushed") }, 201));
app.get("/floor/par/authorize", async (c) => {
  const record = await objectOf(c.env, c.req.query("id") ?? "").read();
  return record ? c.redirect("/signin", 303) : c.json({ error: "invalid_request_uri" }, 400);
});

// Code flow: PAR → /authorize with a session → code → token → userinfo
app.post("/floor/code/par", async (c) => c.json({ request_uri: await created(c.env, "pushed") }, 201));
app.get("/floor/code/authorize", async (c) => {
  const session = await c.env.FLOOR_DB.prepare("SELECT subject FROM sessions WHERE id = ?")
    .bind(c.req.header("cookie") ?? "")
    .first<{ subject: string }>();
  if (!session) return c.json({ error: "login_required" }, 400);
  const id = c.req.query("id") ?? "";
  const ok = await objectOf(c.env, id).replace(`code:${session.subject}`);
  return ok
    ? c.redirect(`http://localhost:3000/callback?code=${id}`, 303)
    : c.json({ error: "invalid_request_uri" }, 400);
});
app.post("/floor/code/token", async (c) => {
  const record = await objectOf(c.env, await idFrom(c)).redeem();
  return record?.startsWith("code:")
    ? c.json({ access_token: record.slice(5), id_token: "floor" })
    : c.json({ error: "invalid_grant" }, 400);
});
app.get("/floor/code/userinfo", async (c) => {
  const subject = (c.req.header("authorization") ?? "").replace(/^Bearer /, "");
  const user = await c.env.FLOOR_DB.prepare("SELECT sub, name FROM users WHERE sub = ?").bind(subject).first();
  return user ? c.json(user) : c.json({ error: "invalid_token" }, 401);
});

app.post("/floor/setup", async (c) => {
  const { session, subject } = (await c.req.json()) as { session: string; subject: string };
  await c.env.FLOOR_DB.batch([
    c.env.FLOOR_DB.prepare("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, subject TEXT NOT NULL)"),
    c.env.FLOOR_DB.prepare("CREATE TABLE IF NOT EXISTS users (sub TEXT PRIMARY KEY, name TEXT NOT NULL)"),
    c.env.FLOOR_DB.prepare("INSERT OR REPLACE INTO sessions (id, subject) VALUES (?, ?)").bind(session, subject),
    c.env.FLOOR_DB.prepare("INSERT OR REPLACE INTO users (sub, name) VALUES (?, ?)").bind(subject, "Floor User"),
  ]);
  return c.json({ ok: true });
});

export default app;
