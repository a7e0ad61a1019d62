/**
 * Settings the Node-side tools need, parsed by the provider's own definitions in src/config.ts
 * so that the tools and the Worker agree (same default, same parsing, same error messages).
 */
import { SETTINGS } from "../../src/config.ts";
import { PROJECT_ROOT } from "./wrangler.ts";

export type Vars = Readonly<Record<string, string | undefined>>;

/**
 * The `[vars]` of wrangler.toml, i.e. what a deployed Worker gets unless overridden, read by
 * wrangler's own config reader (loaded on demand: it takes a second or two to load).
 */
export async function wranglerTomlVars(): Promise<Vars> {
  const { experimental_readRawConfig } = await import("wrangler");
  const { rawConfig } = experimental_readRawConfig({ config: `${PROJECT_ROOT}/wrangler.toml` });
  const vars: Record<string, string> = {};
  for (const [name, value] of Object.entries(rawConfig.vars ?? {})) {
    if (typeof value === "string") vars[name] = value;
  }
  return vars;
}

/**
 * The scopes a client may be registered with: SCOPES_SUPPORTED from the first of `sources` that
 * sets it, else the provider's default. Pass the sources in the Worker's order of precedence,
 * e.g. `.dev.vars` before wrangler.toml `[vars]` for the local Worker.
 */
export function scopesSupported(...sources: Vars[]): string[] {
  const { variable, default: fallback, parse } = SETTINGS.scopesSupported;
  const raw = sources.map((vars) => vars[variable]?.trim()).find((value) => value);
  return parse(raw ?? fallback, variable);
}

/** ALLOW_HTTP_NOTIFICATION_ENDPOINTS from the first of `sources` that sets it, else the default (false). */
export function allowHttpNotificationEndpoints(...sources: Vars[]): boolean {
  const { variable, default: fallback, parse } = SETTINGS.allowHttpNotificationEndpoints;
  const raw = sources.map((vars) => vars[variable]?.trim()).find((value) => value);
  return parse(raw ?? fallback, variable);
}
