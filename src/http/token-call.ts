// A call on a token route, read before it is limited: its body within a stated bound (413
// past it), its prompt estimated and its output allowance found, so that the limiter can
// reserve the call's worst case and refuse, before the upstream sees it, a call that would
// not fit.

import type { Context } from "hono";
import type { Config } from "../config";
import { concat } from "../core/bytes";
import { MAX_CALL_UNITS } from "../core/limits";
import { bytesOver4, type PromptParts, promptParts, promptTokens, type TokenCounter } from "../core/prompt-estimate";
import type { RouteMatch } from "../core/route-table";
import { counterFor } from "../core/tokenizer";
import type { GatewayEnv } from "./context";
import { Problem } from "./problem";

export interface TokenCall {
  /** The request body, as the client sent it; emptied once forwarded, not to be held for a stream's life. */
  body: Uint8Array;
  /** The body parsed, when it is JSON; dropped with the body. */
  json: unknown;
  /** The model the request names, if any. */
  model: string | null;
  /** The prompt's estimated tokens. */
  inputTokens: number;
  /** The output the call may produce: the request's max_tokens (times its `n`), else the route's default. */
  maxOutputTokens: number;
  /** Counts tokens of this model, for output the upstream does not report. */
  count: TokenCounter;
}

/** What the limiter reserves for the call: its prompt and its whole output allowance. */
export function reservationOf(call: TokenCall): number {
  return Math.min(MAX_CALL_UNITS, call.inputTokens + call.maxOutputTokens);
}

function tooLarge(limit: number): Problem {
  return new Problem(
    413,
    "body-too-large",
    `request bodies on token routes are limited to ${limit} bytes (TOKEN_ROUTE_MAX_BODY_BYTES)`,
  );
}

/** Reads the whole body, refusing it (before reading it all) once it is over `limit` bytes. */
export async function readBounded(req: Request, limit: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch {
      // The client broke off its upload: a 400 (nobody may be left to read it), not a 500.
      throw new Problem(400, "invalid-request", "the request body could not be read to its end");
    }
    const { done, value } = read;
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  return concat(parts);
}

/**
 * The body parsed as JSON when it is JSON, else undefined: a body that is not is still
 * forwarded (the upstream answers it) and estimated at bytes/4 of all of it.
 */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const NO_PROMPT: PromptParts = { model: null, texts: [], fixedTokens: 0 };

/**
 * The prompt of a parsed body and its tokens. A body that is not a JSON object (an upload),
 * or one too deep to serialize again, counts at its bytes/4, a bound on its tokens.
 */
async function estimatePrompt(json: unknown, bytes: number, mode: Config["PROMPT_TOKENIZER"]) {
  const byBytes = Math.min(MAX_CALL_UNITS, Math.ceil(bytes / 4));
  let parts: PromptParts;
  try {
    parts = promptParts(json);
  } catch {
    return { parts: NO_PROMPT, inputTokens: byBytes, count: bytesOver4 };
  }
  const { count } = await counterFor(parts.model, mode);
  const isObject = typeof json === "object" && json !== null && !Array.isArray(json);
  return { parts, inputTokens: isObject ? promptTokens(parts, count) : byBytes, count };
}

/** Reads and estimates a call on a token route. */
export async function readTokenCall(req: Request, route: RouteMatch, config: Config): Promise<TokenCall> {
  const body = await readBounded(req, config.TOKEN_ROUTE_MAX_BODY_BYTES);
  const json = parsed(new TextDecoder().decode(body));
  const { parts, inputTokens, count } = await estimatePrompt(json, body.byteLength, config.PROMPT_TOKENIZER);
  const allowance = parts.maxOutputTokens ?? route.maxTokens ?? config.DEFAULT_MAX_TOKENS;
  return {
    body,
    json,
    model: parts.model,
    inputTokens,
    maxOutputTokens: Math.min(MAX_CALL_UNITS, allowance * (parts.choices ?? 1)),
    count,
  };
}

/** The token call of a request on a token route, read once and kept on the context. */
export async function tokenCallOf(c: Context<GatewayEnv>): Promise<TokenCall | undefined> {
  const route = c.get("route");
  if (!route.tokens || route.public) return undefined;
  const known = c.get("tokenCall");
  if (known) return known;
  const call = await readTokenCall(c.req.raw, route, c.get("config"));
  c.set("tokenCall", call);
  return call;
}
