/** The Hono environment type shared by every route: typed bindings and per-request variables. */
import type { Settings } from "../config";
import type { Bindings } from "../env";

export interface AppEnv {
  Bindings: Bindings;
  Variables: {
    settings: Settings;
  };
}
