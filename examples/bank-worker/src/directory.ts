/**
 * A small fake of the bank's customer directory, an HTTP service the bank already runs. Here it
 * is an entrypoint of this same Worker, reached only through the DIRECTORY service binding (it
 * has no public route); in production that binding would name the real directory service.
 *
 *   GET /customers?login_hint=<customer number, e-mail or phone>
 *     200 {"customerId": "cust-1001", "status": "active" | "blocked"}
 *     404 {"error": "not_found"}
 *     503 for the login_hint "directory-outage" (the directory being down, for the tests)
 */
import { WorkerEntrypoint } from "cloudflare:workers";

export interface DirectoryCustomer {
  customerId: string;
  status: "active" | "blocked";
}

const CUSTOMERS: readonly (DirectoryCustomer & { loginHints: readonly string[] })[] = [
  { customerId: "cust-1001", status: "active", loginHints: ["1001", "alice@bank.example", "+447700900101"] },
  { customerId: "cust-1002", status: "blocked", loginHints: ["1002", "bob@bank.example"] },
];

export class Directory extends WorkerEntrypoint {
  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/customers") {
      return Response.json({ error: "not_found" }, { status: 404 });
    }
    const hint = url.searchParams.get("login_hint") ?? "";
    // A way for the tests to see the directory down.
    if (hint === "directory-outage") return Response.json({ error: "unavailable" }, { status: 503 });
    const customer = CUSTOMERS.find((c) => c.loginHints.includes(hint.toLowerCase()));
    if (!customer) return Response.json({ error: "not_found" }, { status: 404 });
    return Response.json({ customerId: customer.customerId, status: customer.status } satisfies DirectoryCustomer);
  }
}
