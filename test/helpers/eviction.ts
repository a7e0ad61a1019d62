/**
 * Dropping Durable Objects' in-memory state between calls, as the platform does at any time
 * (issue 19): every object of a namespace that exists so far loses its instance, and the next
 * call gets a new one (the constructor runs again) that has only what is in storage.
 *
 *   "evicted"  evictDurableObject: the graceful kind, an idle object leaving memory.
 *   "reset"    ctx.abort() inside the object (runInDurableObject): what an uncaught exception or
 *              a code update does; in-flight calls fail.
 *
 * Each instance is marked before it is dropped, and the instance that answers afterwards is
 * checked to carry no mark, so a drop that did not happen fails the test instead of passing it.
 */
import { evictDurableObject, listDurableObjectIds, runInDurableObject } from "cloudflare:test";

export const DROP_MODES = ["evicted", "reset"] as const;
export type DropMode = (typeof DROP_MODES)[number];

const MARK = Symbol.for("edge-op.test.instance-before-drop");

const isFresh = (instance: object) => !Reflect.has(instance, MARK);

/** Drops the instance of every object in `namespace`; returns how many there were. */
export async function dropMemory<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  mode: DropMode,
): Promise<number> {
  const ids = await listDurableObjectIds(namespace);
  for (const id of ids) {
    await runInDurableObject(namespace.get(id), (instance: object) => {
      Reflect.set(instance, MARK, true);
    });
    if (mode === "evicted") await evictDurableObject(namespace.get(id));
    else await reset(namespace, id);
    if (!(await runInDurableObject(namespace.get(id), isFresh))) {
      throw new Error(`the object's instance survived the ${mode === "evicted" ? "eviction" : "reset"}`);
    }
  }
  return ids.length;
}

/**
 * ctx.abort() from a timer inside the object, just after a call: aborting inside the call itself
 * works too, but makes workerd log an "uncaught exception" for the call it breaks. Resolves once
 * a new instance answers (calls that reach the old one first may fail: retried).
 */
async function reset<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  id: DurableObjectId,
): Promise<void> {
  await runInDurableObject(namespace.get(id), (_instance, state) => {
    setTimeout(() => state.abort("reset by the test"), 0);
  });
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if (await runInDurableObject(namespace.get(id), isFresh)) return;
    } catch {
      // reached the old instance as it was aborted
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
