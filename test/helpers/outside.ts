/**
 * The test helper server (test/global-setup.ts) as the outside world: program how a path
 * answers, and read what it received. Paths are shared by every test file of the run, so each
 * test uses its own.
 */
import { env } from "cloudflare:workers";

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface Received {
  method: string;
  /** Lower-case names, as Node reports them. */
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** The absolute URL of `path` on the helper server. */
export function outsideUrl(path: string): string {
  return `${env.TEST_HELPER_URL}${path}`;
}

/** Answers for `path`, used in order, the last one repeating. */
export async function program(path: string, answers: Answer | Answer[]): Promise<void> {
  await fetch(`${env.TEST_HELPER_URL}/_program${path}`, { method: "PUT", body: JSON.stringify(answers) });
}

export async function received(path: string): Promise<Received[]> {
  return (await fetch(`${env.TEST_HELPER_URL}/_received${path}`)).json();
}
