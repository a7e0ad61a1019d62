/** Route registration with a 405 (and `Allow`) for every method a path does not take. */
import type { Handler, Hono } from "hono";
import { MethodNotAllowed } from "../errors";
import type { AppEnv } from "./app-env";

export type Method = "GET" | "POST" | "PUT" | "DELETE";

export function route(app: Hono<AppEnv>, path: string, handlers: Partial<Record<Method, Handler<AppEnv>>>): void {
  const methods = Object.keys(handlers) as Method[];
  for (const method of methods) app.on(method, path, handlers[method] as Handler<AppEnv>);
  app.all(path, (c) => {
    throw new MethodNotAllowed(c.req.method, methods);
  });
}
