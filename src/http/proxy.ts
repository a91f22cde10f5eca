// Forwarding an admitted call to the inference origin, with the tenant's key stripped.

import type { Context } from "hono";
import { describeError } from "../core/errors";
import type { GatewayMetrics } from "../core/gateway-metrics";
import { REQUEST_ID_HEADER } from "../core/request-id";
import { usageStripper, withStreamUsage, withStreamUsageOf } from "../core/stream-usage-option";
import { upstreamUrl } from "../core/upstream-url";
import { meterResponse, type ReportUsed } from "../metering/meter-response";
import { API_KEY_HEADERS } from "./api-key";
import { afterResponse, type GatewayEnv, metricsOf } from "./context";
import { addForwarding, decodedReply, forwardableHeaders } from "./forward-headers";
import { isGatewayHeader, ROUTE_HEADER, setUpstreamHeader, TENANT_HEADER, UNENFORCED_HEADER } from "./gateway-headers";
import type { AegisContext } from "./limit-call";
import { Problem, statusOfError } from "./problem";
import type { TokenCall } from "./token-call";

const KEY_HEADERS = new Set(API_KEY_HEADERS.map((name) => name.toLowerCase()));

/** Request headers never sent upstream beside the hop-by-hop and forwarding ones (lower-case names). */
export const notForwarded = (name: string) => KEY_HEADERS.has(name) || isGatewayHeader(name);

function requestHeaders(c: Context<GatewayEnv>, aegis: AegisContext | undefined, route: string): Headers {
  // The tenant's API key is for the gateway only, in whichever header it came; the gateway's
  // own headers only it may set.
  const headers = forwardableHeaders(c.req.raw.headers, notForwarded);
  addForwarding(headers, { address: c.get("deps").clientAddress?.(c), url: new URL(c.req.url) });
  // An encoded reply is decoded by fetch() anyway, and its encoding buffers a stream on the
  // way: asking for the plain body keeps streams flowing and the metering able to read it.
  headers.set("accept-encoding", "identity");
  // Name the tenant only when the limiter verified its key; a fail-open call's key was
  // never checked, and the upstream must not take it for an authenticated tenant.
  if (aegis?.enforced) setUpstreamHeader(headers, TENANT_HEADER, aegis.tenantId);
  else if (aegis) setUpstreamHeader(headers, UNENFORCED_HEADER, "true");
  setUpstreamHeader(headers, ROUTE_HEADER, route);
  // The client's id when it gave a safe one, else the gateway's: the upstream logs the same id.
  headers.set(REQUEST_ID_HEADER, c.get("requestId"));
  return headers;
}

/** The tokens a settled call used, as metered, by dimension. */
function countTokens(metrics: GatewayMetrics, route: string, usage: Parameters<ReportUsed>[2]): void {
  if (!usage) return;
  const model = usage.model ?? null;
  const cached = usage.cachedInputTokens ?? 0;
  if (usage.inputTokens) metrics.tokens(route, model, "input", usage.inputTokens);
  if (usage.outputTokens) metrics.tokens(route, model, "output", usage.outputTokens);
  if (cached) metrics.tokens(route, model, "cached_input", cached);
}

/** Forwards the request to UPSTREAM_URL and streams the answer back. */
export async function proxyToUpstream(c: Context<GatewayEnv>): Promise<Response> {
  const req = c.req.raw;
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const aegis = c.get("aegis");
  const metrics = metricsOf(c);
  const route = c.get("route").route;
  const trace = c.get("callTrace");
  trace?.forwarding();
  // The status the client gets: the upstream's once it answers, else the gateway's own.
  let status = 502;
  // Called once on every path below: the call is over when its reply is metered.
  const reportUsed: ReportUsed = (units, metadata, usage) => {
    countTokens(metrics, route, usage);
    trace?.finish(status, c.get("tokenCall")?.model);
    const reservation = aegis?.reservation;
    if (!aegis || !reservation) return;
    // The usage record keeps the call's request id, to follow a bill back to the call.
    const withId = { ...metadata, requestId: c.get("requestId") };
    const settled = c.get("deps").store(c.env).settle(aegis.tenantId, reservation.id, units, withId, usage);
    // If this fails the reservation expires and keeps its estimate: the usage is not lost.
    void afterResponse(c, settled);
  };
  // A token route's body was read already, to estimate it: that is what is forwarded.
  const call = c.get("tokenCall");
  let asked: string | null;
  let res: Response;
  let reply: ReturnType<typeof decodedReply>;
  try {
    const upstream = c.get("config").UPSTREAM_URL;
    if (!upstream) throw new Problem(502, "no-upstream", "this gateway has no UPSTREAM_URL configured");
    const headers = requestHeaders(c, aegis, c.get("route").route);
    // A stream that did not ask for its usage is asked on the client's behalf, to be metered.
    asked = hasBody && c.get("route").injectStreamUsage ? await askedForUsage(req, headers, call) : null;
    const started = performance.now();
    try {
      res = await fetch(upstreamUrl(upstream, c.get("path"), new URL(req.url).search), {
        method: req.method,
        headers,
        // A token route's call with no body (a DELETE) is forwarded with none, not an empty one.
        body: asked ?? (call && req.body !== null ? call.body : hasBody ? req.body : undefined),
        redirect: "manual",
        // Node's fetch (the self-hosted server) refuses a streamed body without it; Workers ignore it.
        ...(hasBody ? { duplex: "half" } : {}),
      } as RequestInit);
    } catch (err) {
      c.var.log.error("upstream fetch failed", { path: c.req.path, error: describeError(err) });
      // A client that went away aborted the fetch: not the upstream's failure.
      if (!req.signal.aborted) metrics.upstreamError(route, "unreachable");
      throw new Problem(502, "upstream-unavailable", "the upstream service could not be reached");
    } finally {
      metrics.upstream(route, (performance.now() - started) / 1000);
      // The body is sent: a stream that runs for minutes must not keep the prompt alive.
      if (call) c.set("tokenCall", { ...call, body: new Uint8Array(0), json: undefined });
    }
    try {
      reply = decodedReply(res);
    } catch (err) {
      await res.body?.cancel().catch(() => {});
      throw err;
    }
  } catch (err) {
    // Nothing of a reply reaches the client (no upstream, a client that left while its body
    // was read, an unreachable or unreadable upstream), so nothing is billed, and the
    // reservation gives back its units and its call-in-flight slot now, not at its expiry.
    // The data point keeps the status the client is answered: the error handler's for it (a
    // body that could not be read is a 4xx).
    status = statusOfError(err);
    reportUsed(0);
    throw err;
  }
  status = res.status;
  if (res.status >= 500) metrics.upstreamError(route, "5xx");
  const forwarded = new Response(reply.body, {
    status: res.status,
    statusText: res.statusText,
    headers: reply.headers,
  });
  const metered = meterResponse(
    forwarded,
    {
      units: aegis?.decision?.cost ?? 0,
      tokens: call ? { inputTokens: call.inputTokens, model: call.model, count: call.count } : undefined,
    },
    reportUsed,
    (work) => void afterResponse(c, work),
  );
  const streamed = (metered.headers.get("content-type") ?? "").toLowerCase().includes("text/event-stream");
  if (asked === null || !streamed || !metered.body) return metered;
  // The metering read the usage the gateway asked for; the client gets the stream it asked for.
  const stripped = new Headers(metered.headers);
  stripped.delete("content-length");
  return new Response(metered.body.pipeThrough(usageStripper()), {
    status: metered.status,
    statusText: metered.statusText,
    headers: stripped,
  });
}

/** Largest request body read to add the usage option; a larger one is forwarded as it is. */
export const STREAM_USAGE_BODY_LIMIT = 4 * 1024 * 1024;

/**
 * The request's JSON body with `stream_options.include_usage` added, when it streams
 * without it; null to forward the original body untouched (not JSON, no length or too
 * long to read, not a stream, or a stream that asked already). A token call's body has
 * been read already, within its own bound.
 */
async function askedForUsage(req: Request, headers: Headers, call: TokenCall | undefined): Promise<string | null> {
  if (!(req.headers.get("content-type") ?? "").toLowerCase().includes("json")) return null;
  let body: string | null;
  if (call) body = withStreamUsageOf(call.json);
  else {
    const length = Number(req.headers.get("content-length"));
    if (!(Number.isSafeInteger(length) && length > 0 && length <= STREAM_USAGE_BODY_LIMIT)) return null;
    body = withStreamUsage(await req.clone().text());
  }
  if (body === null) return null;
  headers.delete("content-length");
  return body;
}
