/**
 * Where edge-op's own JavaScript spends its time: the V8 sampling profiler of the Worker's
 * isolate (which also runs its Durable Objects), through workerd's inspector, while CIBA flows
 * run. Samples are attributed to the source file they come from: the bundle wrangler built is
 * not minified and marks every module with a `// path/to/file` comment.
 *
 * The isolate's JS is only part of the process's CPU: workerd's own C++ (HTTP, RPC, SQLite,
 * crypto, shown as "(program)" when called from JS) and the D1/KV simulators (other isolates)
 * are not in these samples.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

export interface ProfileSummary {
  flows: number;
  samples: number;
  sampleIntervalUs: number;
  /** JS time per flow by group (source file, library, or V8's "(garbage collector)" / "(program)"). */
  byModule: { module: string; msPerFlow: number; share: number }[];
  topFunctions: { name: string; module: string; msPerFlow: number; share: number }[];
  /** Non-idle sampled time per flow. */
  busyMsPerFlow: number;
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
export class Inspector {
  private nextId = 0;
  private readonly waiting = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown; error?: unknown };
      // workerd answers some commands by echoing them (no `result`): any message with the id is the answer.
      if (message.id === undefined) return;
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  static async connect(port: number, workerName: string): Promise<Inspector> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
      id: string;
      webSocketDebuggerUrl: string;
    }[];
    const target = targets.find((t) => t.id === `core:user:${workerName}`);
    if (!target) throw new Error(`no inspector target for ${workerName}`);
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", reject);
    });
    return new Inspector(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, (message) =>
        message.error ? reject(new Error(JSON.stringify(message.error))) : resolve(message.result as T),
      );
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** The `// path` module markers of an unminified esbuild bundle, as [first line (0-based), path]. */
function moduleMarkers(bundlePath: string): [number, string][] {
  const markers: [number, string][] = [];
  readFileSync(bundlePath, "utf8")
    .split("\n")
    .forEach((line, index) => {
      const match = /^\/\/ ((?:src|bench|node_modules)\/\S+)$/.exec(line);
      if (match?.[1]) markers.push([index, match[1]]);
    });
  return markers;
}

function moduleOf(markers: [number, string][], frame: CallFrame, bundleName: string): string {
  if (!frame.url) return frame.functionName.startsWith("(") ? frame.functionName : "(runtime built-ins)";
  if (!frame.url.endsWith(bundleName)) return frame.url;
  let found = "(bundle)";
  for (const [line, path] of markers) {
    if (line > frame.lineNumber) break;
    found = path;
  }
  // Libraries are reported as one group each; the project's own files one by one.
  const library = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(found);
  return library ? `${library[1]} (library)` : found;
}

export function summarizeProfile(profile: CpuProfile, bundlePath: string, flows: number): ProfileSummary {
  const markers = moduleMarkers(bundlePath);
  const bundleName = bundlePath.split("/").at(-1) as string;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  // The sampler only ticks while the isolate runs, so a delta that follows a pause spans time
  // spent elsewhere: every sample counts for the typical (median) interval instead.
  const deltas = [...profile.timeDeltas].sort((a, b) => a - b);
  const interval = deltas[Math.floor(deltas.length / 2)] ?? 0;
  const selfUs = new Map<number, number>();
  for (const nodeId of profile.samples) selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + interval);
  const modules = new Map<string, number>();
  const functions = new Map<string, { name: string; module: string; us: number }>();
  let busyUs = 0;
  for (const [nodeId, us] of selfUs) {
    const node = byId.get(nodeId);
    if (!node || node.callFrame.functionName === "(idle)" || node.callFrame.functionName === "(root)") continue;
    busyUs += us;
    const module = moduleOf(markers, node.callFrame, bundleName);
    modules.set(module, (modules.get(module) ?? 0) + us);
    const name = node.callFrame.functionName || "(anonymous)";
    const key = `${name}@${module}`;
    const entry = functions.get(key) ?? { name, module, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const n = Math.max(1, flows);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    flows,
    samples: profile.samples.length,
    sampleIntervalUs: Math.round(interval),
    busyMsPerFlow: round(busyUs / 1000 / n),
    byModule: [...modules.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([module, us]) => ({ module, msPerFlow: round(us / 1000 / n), share: round(us / busyUs) })),
    topFunctions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 15)
      .map((f) => ({ name: f.name, module: f.module, msPerFlow: round(f.us / 1000 / n), share: round(f.us / busyUs) })),
  };
}

export type { CpuProfile };
