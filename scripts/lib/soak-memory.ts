/**
 * workerd's memory during the soak (scripts/soak.ts), and whether it stayed flat.
 *
 * Measured on these machines (issue 19): the local runtime keeps about 250 KiB of native memory
 * for every Durable Object it has ever run and does not give it back when the object is evicted
 * (the benchmark's floor Worker, a bare object with one row, shows it; its JS heap stays at a few
 * MiB). So workerd's RSS grows with every new object whatever the Worker does, and a soak whose
 * flows create objects cannot keep it flat. Two checks instead of one:
 *
 *   - the Worker's JS heap (V8's used size in edge-op's isolate, through workerd's inspector), where
 *     everything edge-op's own code allocates lives: its median in the last minute may exceed the
 *     2nd minute's by at most HEAP_NOISE_MIB or HEAP_NOISE_FRACTION, whichever is larger;
 *   - workerd's RSS, against what the runtime itself keeps for the objects the flows created in
 *     between: the floor Worker's cost per object, measured in the same process before the flows
 *     start, times the objects created, times RSS_PER_OBJECT_FACTOR (edge-op's objects have up to
 *     three tables and more statements than the floor's one), plus RSS_NOISE_MIB.
 *
 * Both need a 2nd and a distinct last minute: runs shorter than 3 minutes are reported, not judged.
 */
import { Inspector } from "../../bench/lib/profile.ts";
import type { LocalEdge } from "./local-edge.ts";

const HEAP_NOISE_MIB = 8;
const HEAP_NOISE_FRACTION = 0.25;
const RSS_PER_OBJECT_FACTOR = 2.5;
const RSS_NOISE_MIB = 16;
/** Objects made in the floor Worker to measure the runtime's cost per object. */
const FLOOR_OBJECTS = 200;

export interface MemorySample {
  /** Seconds since the flows started. */
  t: number;
  rssKiB: number;
  /** edge-op's isolate: V8's used heap, or undefined if the inspector did not answer. */
  heapKiB?: number;
  /** Durable Objects the flows had created by then (scripts/lib/soak-flows.ts OBJECTS_PER_FLOW). */
  objects: number;
}

export interface MemoryCheck {
  judged: boolean;
  flat: boolean;
  heap: string;
  rss: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export class MemoryWatch {
  readonly samples: MemorySample[] = [];
  private constructor(
    private readonly edge: LocalEdge,
    private readonly inspector: Inspector | undefined,
    /** What the runtime keeps per Durable Object (the floor Worker's), KiB. */
    readonly floorKiBPerObject: number,
  ) {}

  /**
   * Measures the floor's cost per object (FLOOR_OBJECTS new objects), then connects to edge-op's
   * isolate. `edge` must run with floorScript and inspectorPort.
   */
  static async start(edge: LocalEdge): Promise<MemoryWatch> {
    const floor = edge.floorUrl;
    if (!floor || edge.options.inspectorPort === undefined)
      throw new Error("start the edge with the floor and an inspector");
    const before = edge.rssKiB();
    for (let i = 0; i < FLOOR_OBJECTS; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const response = await fetch(new URL("/floor/ciba/start", floor), {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "id=",
          });
          if (response.status !== 200) throw new Error(`the floor answered ${response.status}`);
          await response.arrayBuffer();
        }),
      );
    }
    const perObject = Math.max(0, (edge.rssKiB() - before) / FLOOR_OBJECTS);
    const inspector = await withTimeout(Inspector.connect(edge.options.inspectorPort, "edge-op"), 10_000);
    return new MemoryWatch(edge, inspector, perObject);
  }

  async sample(t: number, objects: number): Promise<void> {
    const usage = this.inspector
      ? await withTimeout(this.inspector.send<{ usedSize: number }>("Runtime.getHeapUsage"), 5_000).catch(
          () => undefined,
        )
      : undefined;
    this.samples.push({ t, rssKiB: this.edge.rssKiB(), heapKiB: usage ? usage.usedSize / 1024 : undefined, objects });
  }

  close(): void {
    this.inspector?.close();
  }

  check(durationS: number): MemoryCheck {
    const floor = `the runtime keeps ${this.floorKiBPerObject.toFixed(0)} KiB per Durable Object (the floor Worker's, measured in this process)`;
    if (durationS < 180) {
      return {
        judged: false,
        flat: true,
        heap: "not judged: a run of at least 3 minutes has a 2nd and a distinct last minute",
        rss: `not judged (as above); ${floor}`,
      };
    }
    const second = this.samples.filter((s) => s.t >= 60 && s.t < 120);
    const last = this.samples.filter((s) => s.t >= durationS - 60);
    const mib = (kib: number) => kib / 1024;
    const signed = (v: number) => `${v >= 0 ? "+" : ""}${v.toFixed(1)}`;

    const heapOf = (samples: MemorySample[]) =>
      median(samples.flatMap((s) => (s.heapKiB === undefined ? [] : [mib(s.heapKiB)])));
    const heap2 = heapOf(second);
    const heapLast = heapOf(last);
    const heapBound = Math.max(HEAP_NOISE_MIB, heap2 * HEAP_NOISE_FRACTION);
    const heapFlat = Number.isFinite(heap2) && Number.isFinite(heapLast) && heapLast - heap2 <= heapBound;

    const rss2 = median(second.map((s) => mib(s.rssKiB)));
    const rssLast = median(last.map((s) => mib(s.rssKiB)));
    const objects = median(last.map((s) => s.objects)) - median(second.map((s) => s.objects));
    const allowed = mib(objects * this.floorKiBPerObject * RSS_PER_OBJECT_FACTOR) + RSS_NOISE_MIB;
    const rssGrowth = rssLast - rss2;
    const rssOk = rssGrowth <= allowed;
    const perObject = objects > 0 ? ` (${((rssGrowth * 1024) / objects).toFixed(0)} KiB per object)` : "";
    return {
      judged: true,
      flat: heapFlat && rssOk,
      heap: Number.isFinite(heap2)
        ? `JS heap (edge-op's isolate, median) ${heap2.toFixed(1)} MiB in the 2nd minute, ${heapLast.toFixed(1)} MiB in the last: ${signed(heapLast - heap2)} MiB against a noise bound of ${heapBound.toFixed(1)} MiB (the larger of ${HEAP_NOISE_MIB} MiB and ${HEAP_NOISE_FRACTION * 100} %): ${heapFlat ? "flat" : "GROWING"}`
        : "JS heap: the inspector gave no figures: not flat as far as anyone can tell",
      rss: `RSS (median) ${rss2.toFixed(1)} MiB in the 2nd minute, ${rssLast.toFixed(1)} MiB in the last: ${signed(rssGrowth)} MiB for ${objects.toFixed(0)} new Durable Objects${perObject}; ${floor}, so at most ${allowed.toFixed(1)} MiB is allowed (${RSS_PER_OBJECT_FACTOR}× that per object, plus ${RSS_NOISE_MIB} MiB): ${rssOk ? "explained by the objects" : "MORE THAN THE OBJECTS EXPLAIN"}`,
    };
  }
}
