/** Scope parameters (RFC 6749 §3.3) and what a client may ask for. */
import { InvalidScope } from "../errors";
import { type Client, clientScopes } from "./metadata";

/** A space-delimited scope parameter as a list, each scope once, in the order given. */
export function parseScope(raw: string | undefined): string[] {
  return [...new Set((raw ?? "").split(" ").filter(Boolean))];
}

/** Every scope must be one the client registered (RFC 7591 `scope`); otherwise invalid_scope. */
export function checkClientMayHave(client: Pick<Client, "scope">, scopes: readonly string[]): void {
  const allowed = clientScopes(client);
  const refused = scopes.filter((s) => !allowed.includes(s));
  if (refused.length > 0) {
    throw new InvalidScope(`scope not allowed for this client: ${refused.join(" ").slice(0, 200)}`);
  }
}
