/**
 * Starts the test helper: a real HTTP server on 127.0.0.1 that plays the outside world for the
 * Worker under test — a client's `jwks_uri`, a client's notification endpoint. Tests program it
 * and read what it received through a small API (see test/helpers/outside.ts):
 *   PUT  /_program/<path>   body {status, headers?, body?, delayMs?} (or a list of them): how to
 *                           answer requests to /<path>, e.g. {status: 302, headers: {location}}
 *   GET  /_received/<path>  the requests /<path> has received, oldest first
 * Every other request is recorded and answered as programmed (default 200 `{}`).
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { TestProject } from "vitest/node";
import { startPushService } from "./node/push-service.ts";

interface Programmed {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (to exercise the caller's timeout). */
  delayMs?: number;
}

interface Received {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export default async function setup(project: TestProject) {
  const programs = new Map<string, Programmed[]>();
  const received = new Map<string, Received[]>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://helper");
    const body = await readBody(req);
    if (req.method === "PUT" && url.pathname.startsWith("/_program/")) {
      const path = url.pathname.slice("/_program".length);
      const parsed = JSON.parse(body) as Programmed | Programmed[];
      programs.set(path, Array.isArray(parsed) ? parsed : [parsed]);
      res.writeHead(204).end();
      return;
    }
    if (req.method === "GET" && url.pathname.startsWith("/_received/")) {
      const path = url.pathname.slice("/_received".length);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(received.get(path) ?? []));
      return;
    }
    const log = received.get(url.pathname) ?? [];
    log.push({ method: req.method ?? "", headers: req.headers, body, at: Date.now() });
    received.set(url.pathname, log);
    // A list of answers is used in order, the last one repeating (e.g. 503, 503, 200).
    const queue = programs.get(url.pathname) ?? [{ status: 200, body: "{}" }];
    const answer = (queue.length > 1 ? queue.shift() : queue[0]) as Programmed;
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers }).end(answer.body ?? "");
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  project.provide("testHelperUrl", `http://127.0.0.1:${port}`);
  // A fake Web Push service on its own origin (the VAPID audience), see test/node/push-service.ts.
  const pushService = await startPushService();
  project.provide("pushServiceUrl", pushService.url);
  return async () => {
    await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), pushService.close()]);
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    testHelperUrl: string;
    pushServiceUrl: string;
  }
}
