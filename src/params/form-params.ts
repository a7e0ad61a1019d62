/**
 * Request parameters as data (RFC 6749 §3.1): each parameter at most once ("Request and
 * response parameters MUST NOT be included more than once"), unless declared multi-valued, and a
 * parameter sent without a value treated as omitted. The same rules hold for a form body
 * (src/http/form.ts reads one), an authorization request's query, a pushed request and the
 * claims of a request object.
 */
import { InvalidRequest } from "../errors";

/** A parsed form: each parameter at most once (unless declared multi-valued), empty values dropped. */
export class FormParams {
  constructor(
    private readonly values: ReadonlyMap<string, string>,
    private readonly multi: ReadonlyMap<string, string[]> = new Map(),
  ) {}

  /** Every value of a parameter declared multi-valued (e.g. RFC 8707 `resource`). */
  getAll(name: string): string[] {
    return this.multi.get(name) ?? [];
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The value of a parameter that must be present. */
  require(name: string): string {
    const value = this.values.get(name);
    if (value === undefined) throw new InvalidRequest(`missing required parameter "${name}"`);
    return value;
  }

  names(): string[] {
    return [...this.values.keys()];
  }
}

export interface FormOptions {
  /** Parameters that may repeat, such as RFC 8707 `resource`; read them with getAll. */
  multiValued?: readonly string[];
}

export function parseForm(text: string, options: FormOptions = {}): FormParams {
  const values = new Map<string, string>();
  const multi = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (options.multiValued?.includes(name)) {
      if (value !== "") multi.set(name, [...(multi.get(name) ?? []), value]);
      continue;
    }
    if (seen.has(name)) throw new InvalidRequest(`parameter "${name.slice(0, 64)}" is repeated`);
    seen.add(name);
    if (value !== "") values.set(name, value);
  }
  return new FormParams(values, multi);
}
