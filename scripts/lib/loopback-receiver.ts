/**
 * The outside world edge-op calls, as a real HTTP server on 127.0.0.1 in the calling process:
 * the user notification webhook (CIBA_WEBHOOK_URL) and clients' ping and push endpoints. Each
 * path answers as programmed (a list of answers used in order, the last one repeating; 200 by
 * default) and keeps what it received, so a test can wait for the n-th request and read it.
 * The same idea as test/global-setup.ts's helper, for code that runs in Node rather than workerd.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedRequest {
  path: string;
  method: string;
  headers: IncomingMessage["headers"];
  body: string;
  /** Date.now() when the request had arrived in full. */
  at: number;
  /** The status it was answered with. */
  status: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export class LoopbackReceiver {
  private readonly answers = new Map<string, number[]>();
  private readonly log = new Map<string, ReceivedRequest[]>();
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<LoopbackReceiver> {
    let receiver: LoopbackReceiver | undefined;
    const server = createServer((req, res) => {
      void receiver?.handle(req).then(
        (status) => res.writeHead(status, { "content-type": "application/json" }).end("{}"),
        () => res.writeHead(400).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    receiver = new LoopbackReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  private async handle(req: IncomingMessage): Promise<number> {
    const body = await readBody(req);
    const path = new URL(req.url ?? "/", this.origin).pathname;
    const queue = this.answers.get(path) ?? [200];
    const status = (queue.length > 1 ? queue.shift() : queue[0]) ?? 200;
    const entry = { path, method: req.method ?? "", headers: req.headers, body, at: Date.now(), status };
    this.log.set(path, [...(this.log.get(path) ?? []), entry]);
    for (const wake of this.waiters) wake();
    return status;
  }

  /** The absolute URL of `path` on this server. */
  url(path: string): string {
    return `${this.origin}${path}`;
  }

  /** How `path` answers from now on: these statuses in order, the last one repeating. */
  program(path: string, statuses: number[]): void {
    this.answers.set(path, [...statuses]);
  }

  received(path: string): ReceivedRequest[] {
    return this.log.get(path) ?? [];
  }

  /** Every request received on any path, oldest first. */
  all(): ReceivedRequest[] {
    return [...this.log.values()].flat().sort((a, b) => a.at - b.at);
  }

  /** Resolves once `path` has received `count` requests (all of them); rejects after `timeoutMs`. */
  async waitFor(path: string, count: number, timeoutMs: number): Promise<ReceivedRequest[]> {
    return this.waitUntil(() => this.received(path).length >= count, timeoutMs, `${count} request(s) on ${path}`, path);
  }

  /** Resolves with every request on `path` once `done` holds for them. */
  async waitUntil(done: () => boolean, timeoutMs: number, what: string, path?: string): Promise<ReceivedRequest[]> {
    const result = () => (path ? this.received(path) : this.all());
    if (done()) return result();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`the loopback receiver did not get ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(result());
      };
      this.waiters.add(check);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
