/**
 * A fake Web Push service for the tests: a real HTTP server on 127.0.0.1, started by
 * test/global-setup.ts, playing both the push service (RFC 8030) and the browser behind it.
 * Each subscription it hands out has its own P-256 key pair and auth secret, like a browser's.
 * When edge-op POSTs a push message it checks what a push service checks and decrypts what a
 * browser decrypts, and records the outcome for the test to read:
 *  - TTL present (RFC 8030 §5.2: 400 otherwise), body at most 4096 octets (§7.2: 413);
 *  - `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292 §3): k must be the key the subscription
 *    was created with (§4.2: 403 otherwise); the JWT must verify under k (ES256), with `aud` this
 *    service's origin, `exp` in the future and no more than 24 hours away, and a mailto:/https:
 *    `sub` (401 otherwise);
 *  - `Content-Encoding: aes128gcm`, and the body decrypts with the subscription's private key and
 *    auth secret (RFC 8291; 400 otherwise).
 * Then it answers as programmed (default 201 Created with a Location, RFC 8030 §5).
 *
 * API (the workerd side is test/helpers/push-service.ts):
 *   POST /_subscriptions {applicationServerKey}  → 201 {id, subscription} (PushSubscription JSON)
 *   PUT  /_program/<id> {status, headers?} or a list (used in order, the last repeating)
 *   GET  /_received/<id>                          → the messages received, oldest first
 *   POST /push/<id>                               the push resource (unknown id: 404)
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { decryptWebPush } from "../helpers/ece-decrypt.ts";

export interface PushAnswer {
  status: number;
  headers?: Record<string, string>;
}

export interface ReceivedPush {
  at: number;
  /** What this service answered. */
  status: number;
  /** Why it refused the message, if it did. */
  refused?: string;
  ttl: string | null;
  urgency: string | null;
  topic: string | null;
  contentEncoding: string | null;
  /** The VAPID `k` and the verified JWT claims, when the signature verified. */
  vapid?: { k: string; alg: string; claims: { aud: unknown; exp: unknown; sub: unknown } };
  /** The decrypted plaintext (UTF-8). */
  payload?: string;
  /** Octets on the wire. */
  bodyLength: number;
}

interface Subscription {
  applicationServerKey: string;
  privateKey: CryptoKey;
  publicKey: Uint8Array;
  authSecret: Uint8Array;
  answers: PushAnswer[];
  received: ReceivedPush[];
}

const b64u = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

/** The whole body, read to its end even when refused (else the sender sees a broken connection). */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `vapid t=…, k=…` (RFC 8292 §3), parameters in any order. */
function parseVapid(header: string | undefined): { t: string; k: string } | undefined {
  const match = /^vapid\s+(.*)$/i.exec(header ?? "");
  if (!match?.[1]) return undefined;
  const params = new Map<string, string>();
  for (const part of match[1].split(",")) {
    const [name, ...value] = part.trim().split("=");
    if (name) params.set(name.toLowerCase(), value.join("="));
  }
  const t = params.get("t");
  const k = params.get("k");
  return t && k ? { t, k } : undefined;
}

async function verifyVapid(
  header: string | undefined,
  subscription: Subscription,
  origin: string,
): Promise<{ ok: true; vapid: NonNullable<ReceivedPush["vapid"]> } | { ok: false; status: number; refused: string }> {
  const vapid = parseVapid(header);
  if (!vapid) return { ok: false, status: 401, refused: "no vapid Authorization" };
  if (vapid.k !== subscription.applicationServerKey) {
    return { ok: false, status: 403, refused: "k is not the subscription's applicationServerKey" };
  }
  const point = Buffer.from(vapid.k, "base64url");
  if (point.length !== 65 || point[0] !== 4)
    return { ok: false, status: 401, refused: "k is not an uncompressed point" };
  try {
    const key = await importJWK(
      { kty: "EC", crv: "P-256", x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) },
      "ES256",
    );
    const { payload } = await jwtVerify(vapid.t, key, {
      algorithms: ["ES256"],
      audience: origin,
      requiredClaims: ["exp"],
    });
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== "number" || payload.exp > now + 24 * 60 * 60) throw new Error("exp more than 24 h away");
    if (typeof payload.sub !== "string" || !/^(mailto:|https:)/.test(payload.sub))
      throw new Error("sub not mailto/https");
    return {
      ok: true,
      vapid: {
        k: vapid.k,
        alg: String(decodeProtectedHeader(vapid.t).alg),
        claims: { aud: payload.aud, exp: payload.exp, sub: payload.sub },
      },
    };
  } catch (error) {
    return { ok: false, status: 401, refused: `VAPID JWT: ${error instanceof Error ? error.message : error}` };
  }
}

export async function startPushService(): Promise<{ url: string; close(): Promise<void> }> {
  const subscriptions = new Map<string, Subscription>();
  let origin = "";
  let messages = 0;

  async function subscribe(body: Buffer): Promise<unknown> {
    const { applicationServerKey } = JSON.parse(body.toString("utf8")) as { applicationServerKey: string };
    const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
    const publicKey = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
    const authSecret = crypto.getRandomValues(new Uint8Array(16));
    const id = b64u(crypto.getRandomValues(new Uint8Array(12)));
    subscriptions.set(id, {
      applicationServerKey,
      privateKey: pair.privateKey,
      publicKey,
      authSecret,
      answers: [{ status: 201 }],
      received: [],
    });
    return {
      id,
      subscription: {
        endpoint: `${origin}/push/${id}`,
        expirationTime: null,
        keys: { p256dh: b64u(publicKey), auth: b64u(authSecret) },
      },
    };
  }

  async function receive(
    req: IncomingMessage,
    body: Buffer,
    subscription: Subscription,
  ): Promise<[number, Record<string, string>]> {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === "string" ? value : null;
    };
    const record: ReceivedPush = {
      at: Date.now(),
      status: 0,
      ttl: header("ttl"),
      urgency: header("urgency"),
      topic: header("topic"),
      contentEncoding: header("content-encoding"),
      bodyLength: body.length,
    };
    subscription.received.push(record);
    const refuse = (status: number, refused: string): [number, Record<string, string>] => {
      Object.assign(record, { status, refused });
      return [status, {}];
    };
    if (body.length > 4096) return refuse(413, "body over 4096 octets");
    if (!/^\d+$/.test(record.ttl ?? "")) return refuse(400, "no valid TTL");
    const vapid = await verifyVapid(req.headers.authorization, subscription, origin);
    if (!vapid.ok) return refuse(vapid.status, vapid.refused);
    record.vapid = vapid.vapid;
    if (record.contentEncoding !== "aes128gcm") return refuse(400, "Content-Encoding is not aes128gcm");
    try {
      const plain = await decryptWebPush(new Uint8Array(body), subscription);
      record.payload = new TextDecoder("utf-8", { fatal: true }).decode(plain);
    } catch (error) {
      return refuse(400, `decryption failed: ${error instanceof Error ? error.message : error}`);
    }
    const queue = subscription.answers;
    const answer = (queue.length > 1 ? queue.shift() : queue[0]) ?? { status: 201 };
    record.status = answer.status;
    const headers: Record<string, string> = { ...answer.headers };
    if (answer.status === 201) headers.location = `${origin}/message/${++messages}`;
    return [answer.status, headers];
  }

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", origin);
      const [, area, id = ""] = url.pathname.split("/");
      const body = await readBody(req);
      if (req.method === "POST" && url.pathname === "/_subscriptions") {
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(await subscribe(body)));
        return;
      }
      const subscription = subscriptions.get(id);
      if (!subscription) {
        res.writeHead(404).end();
        return;
      }
      if (req.method === "PUT" && area === "_program") {
        const parsed = JSON.parse(body.toString("utf8")) as PushAnswer | PushAnswer[];
        subscription.answers = Array.isArray(parsed) ? parsed : [parsed];
        res.writeHead(204).end();
      } else if (req.method === "GET" && area === "_received") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(subscription.received));
      } else if (req.method === "POST" && area === "push") {
        const [status, headers] = await receive(req, body, subscription);
        res.writeHead(status, headers).end();
      } else {
        res.writeHead(405).end();
      }
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
