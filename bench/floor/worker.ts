/**
 * The platform floor: what any Worker on this stack pays before doing OAuth work. Same runtime,
 * same Miniflare instance and same bindings kinds as edge-op:
 *
 *   GET  /hello  a bare Hono route (JSON response)
 *   POST /floor  a Hono route that makes one Durable Object RPC (a new SQLite-backed object per
 *                request, which writes one row, as edge-op's per-request objects do) and one
 *                Workers KV write, then answers JSON
 */
import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";

interface FloorEnv {
  FLOOR_OBJECTS: DurableObjectNamespace<FloorObject>;
  FLOOR_KV: KVNamespace;
}

export class FloorObject extends DurableObject<FloorEnv> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: FloorEnv) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, value TEXT NOT NULL)");
  }

  async touch(value: string): Promise<number> {
    this.sql.exec("INSERT INTO item (value) VALUES (?)", value);
    return 1;
  }
}

const app = new Hono<{ Bindings: FloorEnv }>();

app.get("/hello", (c) => c.json({ ok: true }));

app.post("/floor", async (c) => {
  const key = crypto.randomUUID();
  const stub = c.env.FLOOR_OBJECTS.get(c.env.FLOOR_OBJECTS.idFromName(key));
  const written = await stub.touch(key);
  await c.env.FLOOR_KV.put(`floor:${key}`, "1", { expirationTtl: 120 });
  return c.json({ ok: true, written });
});

export default app;
