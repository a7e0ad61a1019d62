/**
 * The architecture of src/, checked by `npm run lint:deps` (part of `npm run lint`):
 * - no import cycles between files, type-only imports included (a cycle through types still
 *   ties the files together: neither can be read, moved or tested without the other);
 * - the protocol core imports no HTTP or UI code. The edge layer is src/http/ (Hono plumbing),
 *   src/endpoints/ (each endpoint's Hono handler), src/ui/ (pages), src/api/ (the authenticator
 *   API) and src/provider/ (createProvider, which mounts them), plus the entry modules
 *   src/index.ts and src/worker.ts. Everything else under src/ is the core: settings, errors,
 *   crypto, tokens, clients, users, CIBA, PAR, grants, stores. It may not import hono or the
 *   edge layer; the edge layer imports the core.
 */
const EDGE = "^src/(http|endpoints|ui|api|provider)/|^src/(index|worker)\\.tsx?$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import cycles (type-only imports included) tie files together; break them with a leaf module.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "core-imports-no-http",
      severity: "error",
      comment: "The protocol core (everything in src/ outside the edge layer) imports no HTTP or UI code.",
      from: { path: "^src/", pathNot: EDGE },
      // Hono as the resolver finds it (node_modules/hono/…) and as written where it does not
      // resolve a subpath export (hono/cookie, hono/jsx).
      to: { path: [EDGE, "(^|/)node_modules/hono/", "^hono(/|$)"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Type-only imports are edges too (import type, and types used only in type positions).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      extensions: [".ts", ".tsx", ".js"],
      conditionNames: ["import", "require", "node", "default"],
    },
    // Not node_modules: excluding it would drop the edges into it (src → hono) before the rules
    // see them; doNotFollow above already keeps the cruise out of it.
    exclude: { path: "^(dist|test|bench|scripts|examples)/" },
  },
};
