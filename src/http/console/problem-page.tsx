// A console form the server could not carry out (a 404 for what it names, a 409 for a paid
// invoice, a 502 for a change the limiter has not confirmed) answered as a page of the console,
// not as the API's problem+json: the problem's title and detail, its status code, and a link
// back to the page the form was on. Forms refused before their handler (a broken body, a wrong
// CSRF token or origin) keep their problem+json: no page of the console sends them.

import type { Context, MiddlewareHandler } from "hono";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";
import { frame, Layout } from "./layout";
import { PAGE_HEADERS } from "./page";

/** How the console says what went wrong; `saved` when the change is stored all the same. */
export function problemMessage(problem: Problem): { saved: boolean; text: string } {
  if (problem.code === "edge-sync-pending") {
    return {
      saved: true,
      // The API's detail already says it was saved and when it applies; only capitalised here.
      text: `${problem.detail.charAt(0).toUpperCase()}${problem.detail.slice(1)}.`,
    };
  }
  return { saved: false, text: problem.detail };
}

/** The page a form at `path` is on; a tenant that does not exist sends the operator to the list. */
export function pageOfForm(path: string, code: string): string {
  const tenant = /^\/admin\/ui\/tenants\/([^/]+)\//.exec(path);
  if (tenant && code !== "tenant-not-found") return `/admin/ui/tenants/${tenant[1]}`;
  for (const section of ["invoices", "deliveries", "prices"]) {
    if (path.startsWith(`/admin/ui/${section}`)) return `/admin/ui/${section}`;
  }
  return "/admin/ui";
}

function ProblemPage(props: { c: Context<GatewayEnv>; problem: Problem }) {
  const { problem } = props;
  const { saved, text } = problemMessage(problem);
  const back = pageOfForm(props.c.req.path, problem.code);
  return (
    <Layout title={saved ? "Saved, not yet applied" : problem.body().title} {...frame(props.c)}>
      <p class="error" role="alert" id="problem" data-code={problem.code}>
        {text}
      </p>
      <p>
        <a href={back}>Back to the page the form was on</a>
      </p>
    </Layout>
  );
}

/**
 * Turns a Problem a console form's handler threw into a console page with the same status.
 *
 * @example
 * consoleRoutes.use("*", consoleProblemPage());
 */
export function consoleProblemPage(): MiddlewareHandler<GatewayEnv> {
  return async function consoleProblemPageMiddleware(c, next) {
    await next();
    // The app's onError has already answered with problem+json; this replaces that answer.
    const problem = c.error;
    if (c.req.method !== "POST" || !(problem instanceof Problem)) return;
    const page = await c.html(<ProblemPage c={c} problem={problem} />, problem.status, {
      ...problem.headers,
      ...PAGE_HEADERS,
    });
    c.res = undefined;
    c.res = page;
  };
}
