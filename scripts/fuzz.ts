/**
 * `npm run fuzz`: hostile requests against every endpoint of a locally started edge-op, on
 * demand, many more than `npm test`'s property tests send (issue 19): 100,000 by default.
 *
 *   npm run fuzz -- [--runs 100000] [--seed <n>] [--concurrency 8] [--write]
 *
 * The Worker is bundled as `wrangler deploy` would and run in workerd through the Miniflare API
 * (scripts/lib/local-edge.ts), loopback only. The requests come from the property test's
 * generators (scripts/lib/hostile.ts): any method, path, content type, body and Authorization at
 * every endpoint; the pages as a stranger; return_to; every page signed in with a live session
 * and the real CSRF token; and the authenticator API with valid credentials (a Bearer token with
 * ciba:approve obtained through the code flow, or the session cookie) on the user's own pending
 * request. Each concurrent lane is one user with its own browser, kept signed in, with a pending
 * request and a live token (renewed when a request uses them up).
 *
 * Every answer is checked (scripts/lib/hostile.ts answerProblem): never a 5xx, JSON errors with
 * an error code, no Location off this site. The run fails (exit 1) on any problem and prints
 * each with what reproduces it (the seed, the request). --write puts the figures into
 * docs/reliability.md.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { machineLoad } from "../bench/lib/cpu.ts";
import { OAuthClient } from "./lib/edge-client.ts";
import { flowClients, localVars, REDIRECT_URI } from "./lib/flow-clients.ts";
import { type HostileOptions, type HostileRequest, hostileGenerators } from "./lib/hostile.ts";
import { HostileLane, type Problem } from "./lib/hostile-lane.ts";
import { buildWorker, LocalEdge } from "./lib/local-edge.ts";
import { LoopbackReceiver } from "./lib/loopback-receiver.ts";
import { replaceReportBlock } from "./lib/report-block.ts";
import { checkoutRevision } from "./lib/revision.ts";
import { assertSupportedNode, PROJECT_ROOT } from "./lib/wrangler.ts";

const USAGE = `Usage: npm run fuzz -- [--runs N] [--seed N] [--concurrency N] [--write] [--script FILE]

  --runs N          hostile requests to send (default 100000)
  --seed N          fast-check seed (default: random; printed, so a run can be repeated)
  --concurrency N   lanes (signed-in users) sending at once (default 8)
  --write           put the figures into docs/reliability.md
  --script FILE     run this bundle (inside the project) instead of building the checkout's
`;

const ISSUER = "http://localhost:8787";
/** Requests are drawn in batches of this many (fc.sample), then shared among the lanes. */
const BATCH = 2_000;

interface Figures {
  sent: number;
  /** Answers by kind of request, then by status class ("2xx", …, "no answer"). */
  byKind: Record<string, Record<string, number>>;
  problems: Problem[];
  renewals: { signIns: number; requests: number; tokens: number };
}

function parse(): { runs: number; seed: number; concurrency: number; write: boolean; script?: string } | undefined {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "100000" },
      seed: { type: "string" },
      concurrency: { type: "string", default: "8" },
      write: { type: "boolean", default: false },
      script: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const runs = Number(values.runs);
  const concurrency = Number(values.concurrency);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(runs) || runs < 1) throw new Error("--runs must be a positive integer");
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error("--concurrency: 1–64");
  if (!Number.isInteger(seed)) throw new Error("--seed must be an integer");
  return { runs, seed, concurrency, write: values.write, script: values.script };
}

const CLASSES = ["2xx", "3xx", "4xx", "5xx", "no answer"];

function markdown(figures: Figures, args: { runs: number; seed: number; concurrency: number }, seconds: number) {
  const load = machineLoad();
  const n = (value: number | undefined) => (value ?? 0).toLocaleString("en");
  const total: Record<string, number> = {};
  const rows = Object.entries(figures.byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, byClass]) => {
      const sent = Object.values(byClass).reduce((a, b) => a + b, 0);
      for (const cls of CLASSES) total[cls] = (total[cls] ?? 0) + (byClass[cls] ?? 0);
      return `| ${kind} | ${n(sent)} | ${CLASSES.map((cls) => n(byClass[cls])).join(" | ")} |`;
    });
  return [
    `Latest fuzz run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, at ${checkoutRevision()}, \`npm run fuzz -- --runs ${args.runs} --seed ${args.seed}\`, ${args.concurrency} lanes, ${seconds.toFixed(0)} s (${(figures.sent / seconds).toFixed(0)} requests/s) on ${load.cores} cores (load average ${load.load1.toFixed(1)} at the end).`,
    "",
    `| Requests of kind | Sent | ${CLASSES.join(" | ")} |`,
    `| --- | ---: | ${CLASSES.map(() => "---:").join(" | ")} |`,
    ...rows,
    `| **all** | **${n(figures.sent)}** | ${CLASSES.map((cls) => n(total[cls])).join(" | ")} |`,
    "",
    `Problems (a 5xx, an error that is not JSON with an error code, a Location off this site, no answer): **${figures.problems.length}**. Lane upkeep: ${figures.renewals.signIns} sign-ins, ${figures.renewals.requests} pending requests made (each answered one was replaced), ${figures.renewals.tokens} authenticator tokens obtained.`,
  ].join("\n");
}

async function main(): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!args) {
    process.stdout.write(USAGE);
    return 0;
  }
  assertSupportedNode();
  const log = (line: string) => console.log(`[fuzz] ${line}`);
  log(`seed ${args.seed}, ${args.runs} requests, ${args.concurrency} lanes`);
  const script = args.script ?? (await buildWorker(join(PROJECT_ROOT, "test-results", "fuzz", "worker")));
  const receiver = await LoopbackReceiver.start();
  const clients = flowClients(receiver.origin);
  const edge = await LocalEdge.create({
    script,
    vars: localVars(receiver.origin),
    clients: Object.values(clients),
    benchUsers: true,
  });
  const figures: Figures = {
    sent: 0,
    byKind: {},
    problems: [],
    renewals: { signIns: 0, requests: 0, tokens: 0 },
  };
  try {
    const options: HostileOptions = {
      client: { id: clients.hostile.client_id, secret: clients.hostile.client_secret },
      username: "bench-user-0",
      issuer: ISSUER,
      webClient: { id: clients.web.client_id, redirectUri: REDIRECT_URI },
    };
    const base = () => edge.url;
    const client = (c: { client_id: string; client_secret: string }) =>
      new OAuthClient(base, c.client_id, c.client_secret);
    const lanes = Array.from(
      { length: args.concurrency },
      (_, i) =>
        new HostileLane({
          base,
          receiver,
          kiosk: client(clients.hostile),
          authenticator: client(clients.authenticator),
          redirectUri: REDIRECT_URI,
          username: `bench-user-${i}`,
          password: "bench-user-password",
        }),
    );
    await Promise.all(lanes.map((lane) => lane.prepare()));
    log(`local runtime ready; ${lanes.length} users signed in, each with a pending request and a token`);
    const { anyRequest } = hostileGenerators(options);
    const started = performance.now();
    let nextProgress = 10_000;
    for (let offset = 0; offset < args.runs; offset += BATCH) {
      const count = Math.min(BATCH, args.runs - offset);
      const batch = fc.sample(anyRequest, { seed: args.seed + offset, numRuns: count });
      // The statuses are counted as answers come back; a lane sends its share one at a time.
      await Promise.all(
        lanes.map(async (lane, i) => {
          for (let k = i; k < batch.length; k += lanes.length) {
            const request = batch[k] as HostileRequest;
            const outcome = await lane.send(request, options).catch((error: unknown) => {
              const problem = `no answer: ${error instanceof Error ? error.message : String(error)}`;
              return { status: 0, problem: { problem, request, status: 0, body: "" } };
            });
            figures.sent += 1;
            const cls = outcome.status === 0 ? "no answer" : `${Math.floor(outcome.status / 100)}xx`;
            const kind = figures.byKind[request.kind] ?? {};
            kind[cls] = (kind[cls] ?? 0) + 1;
            figures.byKind[request.kind] = kind;
            if (outcome.problem) figures.problems.push(outcome.problem);
          }
        }),
      );
      if (figures.sent >= nextProgress) {
        log(`${figures.sent} sent, ${figures.problems.length} problems`);
        nextProgress += 10_000;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    for (const lane of lanes) {
      for (const [what, n] of Object.entries(lane.renewals) as [keyof Figures["renewals"], number][]) {
        figures.renewals[what] += n;
      }
    }
    const summary = markdown(figures, args, seconds);
    console.log(`\n${summary}\n`);
    for (const p of figures.problems.slice(0, 20)) {
      console.log(
        `PROBLEM: ${p.problem}\n  ${p.request.method} ${p.request.path}\n  ${JSON.stringify(p.request.headers)}`,
      );
      console.log(`  body: ${JSON.stringify(p.request.body?.slice(0, 300))}\n  answer: ${p.status} ${p.body}`);
    }
    if (args.write) {
      replaceReportBlock(join(PROJECT_ROOT, "docs", "reliability.md"), "fuzz", summary);
      log("figures written to docs/reliability.md");
    }
    return figures.problems.length === 0 ? 0 : 1;
  } finally {
    await edge.dispose();
    await receiver.close();
  }
}

process.exitCode = await main();
