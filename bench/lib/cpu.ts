/**
 * CPU time from the operating system's own accounting: utime + stime of a process (all of its
 * threads, including finished ones) from /proc/<pid>/stat, in milliseconds. Linux only.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface Stat {
  comm: string;
  ppid: number;
  cpuMs: number;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: it ends at the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { comm, ppid, cpuMs: ((utime + stime) * 1000) / clockTicks() };
}

/** CPU milliseconds used so far by the processes `pids` (together). */
export function cpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += readStat(pid)?.cpuMs ?? 0;
  return total;
}

/** The descendants of `root` whose command name is `comm` (e.g. the workerd Miniflare started). */
export function descendantsNamed(root: number, comm: string): number[] {
  const children = new Map<number, number[]>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    names.set(Number(entry), stat.comm);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    if (names.get(pid) === comm) found.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** The machine's load average and core count, to tell whether figures were taken on a quiet machine. */
export function machineLoad(): { load1: number; load5: number; cores: number } {
  const [load1 = 0, load5 = 0] = loadavg();
  return { load1, load5, cores: availableParallelism() };
}
