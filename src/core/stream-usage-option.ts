// Usage a streamed OpenAI-style reply carries only when asked: the gateway asks for it on
// the client's behalf, then takes back out what the client would not have received, so that
// the client's stream is the one it asked for and every token is still metered.
//
// - Request: a JSON body with `"stream": true` and no `stream_options.include_usage: true`
//   gets `stream_options.include_usage = true` (other stream_options are kept).
// - Reply: the events the option added are dropped: the final usage-only chunk (`"choices":
//   []` with a usage object), and the `"usage":null` member the option adds to every other
//   chunk. Everything else passes byte for byte; the text is edited, never re-serialized.

/** The request body with the usage option added, or null when it needs none (or is not JSON). */
export function withStreamUsage(body: string): string | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  return withStreamUsageOf(parsed);
}

/**
 * withStreamUsage() of a body already parsed. Null too for a body too deep to serialize
 * again: it is forwarded as it came, unmetered by this option rather than refused.
 */
export function withStreamUsageOf(parsed: unknown): string | null {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const request = parsed as { stream?: unknown; stream_options?: unknown };
  if (request.stream !== true) return null;
  const options = request.stream_options;
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) {
    return null; // malformed: leave it to the upstream to refuse
  }
  if ((options as { include_usage?: unknown } | null | undefined)?.include_usage === true) return null;
  try {
    return JSON.stringify({ ...request, stream_options: { ...(options ?? {}), include_usage: true } });
  } catch {
    return null;
  }
}

/** The `"usage":null` member, with the comma that joins it to its neighbour. */
const USAGE_NULL = /,\s*"usage"\s*:\s*null(?=\s*[,}])|"usage"\s*:\s*null\s*,\s*/g;
const EMPTY_CHOICES = /"choices"\s*:\s*\[\s*\]/;
const USAGE_OBJECT = /"usage"\s*:\s*\{/;

/** One event's lines, without what the option added; null to drop the whole event. */
export function strippedEvent(event: string): string | null {
  if (!event.includes('"usage"')) return event;
  // Only a chunk with no choices and a usage object can be the one the option added.
  if (EMPTY_CHOICES.test(event) && USAGE_OBJECT.test(event)) {
    const data = event
      .split("\n")
      .filter((l) => l.startsWith("data:"))
      .map((l) => l.slice(l[5] === " " ? 6 : 5))
      .join("\n");
    try {
      const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage) return null;
    } catch {
      // not JSON: pass it on untouched
    }
  }
  return event.replace(USAGE_NULL, "");
}

/**
 * Longest event held to be edited. An event longer than this (a huge content delta) is no
 * usage chunk, and is passed on untouched as it comes, so that the gateway holds back at
 * most this much of a stream, and no more memory.
 */
export const MAX_HELD_EVENT_CHARS = 1024 * 1024;
/** An event's end: a blank line. */
const BOUNDARY = /\r?\n\r?\n/g;
/** The most of a boundary that can end a text without the boundary being complete. */
const BOUNDARY_START = "\r\n\r".length;

/**
 * A stream of SSE bytes with the option's additions taken out, event by event (an event
 * ends at a blank line). An event is held only until its end arrives, so nothing is held
 * back longer than the upstream holds it, except that an event over MAX_HELD_EVENT_CHARS
 * is passed on as it comes, untouched.
 */
export function usageStripper(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  // The start of the event being read, held until its end.
  let pending = "";
  // While an event too long to hold passes: the last characters passed, which may hold the
  // start of its end.
  let passing: string | null = null;
  const take = (text: string, final: boolean): string => {
    let out = "";
    if (passing !== null) {
      const joined = passing + text;
      BOUNDARY.lastIndex = 0;
      const match = BOUNDARY.exec(joined);
      if (!match) {
        passing = joined.slice(-BOUNDARY_START);
        return text;
      }
      const end = match.index + match[0].length - passing.length;
      out = text.slice(0, end);
      text = text.slice(end);
      passing = null;
    }
    // A boundary completed by the new text starts at most BOUNDARY_START characters before
    // it: the text held already is not searched again, so a long event costs one pass.
    BOUNDARY.lastIndex = Math.max(0, pending.length - BOUNDARY_START);
    pending += text;
    let start = 0;
    for (let match = BOUNDARY.exec(pending); match; match = BOUNDARY.exec(pending)) {
      const end = match.index + match[0].length;
      const event = pending.slice(start, match.index);
      const held = event.length <= MAX_HELD_EVENT_CHARS;
      const lf = held && event.includes("\r") ? event.replace(/\r\n/g, "\n") : event;
      const kept = held ? strippedEvent(lf) : lf;
      // An event the option added nothing to goes on as it came, CRs and all.
      if (kept !== null) out += kept === lf ? pending.slice(start, end) : kept + match[0];
      start = end;
    }
    pending = pending.slice(start);
    // Past the limit (and any end it may hold the start of), the event passes as it comes.
    if (final || pending.length > MAX_HELD_EVENT_CHARS + BOUNDARY_START) {
      out += pending;
      if (!final) passing = pending.slice(-BOUNDARY_START);
      pending = "";
    }
    return out;
  };
  return new TransformStream({
    transform(chunk, controller) {
      const out = take(decoder.decode(chunk, { stream: true }), false);
      if (out.length > 0) controller.enqueue(encoder.encode(out));
    },
    flush(controller) {
      const out = take(decoder.decode(), true);
      if (out.length > 0) controller.enqueue(encoder.encode(out));
    },
  });
}
