/**
 * The provider's routes, for the page components: render() (./page.tsx) provides them, so a
 * link or form action anywhere in a page is the route table's path under the base path.
 */
import { createContext, useContext } from "hono/jsx";
import { Routes } from "../routes";

export const RoutesContext = createContext(new Routes());

export function useRoutes(): Routes {
  return useContext(RoutesContext);
}
