/** The floor Worker of the counting pass: worker.ts with its platform operations counted. */
import {
  COUNTERS_PATH,
  counterRoute,
  countWorkerRequest,
  instrumentDurableObjectClasses,
  instrumentEnv,
} from "../worker/instrument";
import app, * as floor from "./worker";

export * from "./worker";

instrumentDurableObjectClasses(floor);

export default {
  fetch(request: Request, env: Record<string, unknown>, ctx: ExecutionContext): Response | Promise<Response> {
    if (request.url.includes(COUNTERS_PATH)) return counterRoute(request);
    countWorkerRequest();
    return app.fetch(request, instrumentEnv(env), ctx);
  },
};
