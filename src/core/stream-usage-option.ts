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
 * A stream of SSE bytes with the option's additions taken out, event by event (an event
 * ends at a blank line). An event is held only until its end arrives, so nothing is held
 * back longer than the upstream holds it.
 */
export function usageStripper(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let pending = "";
  const flushEvents = (controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    // Complete events are cut from `pending` by index, and `pending` is sliced once, so a
    // chunk of many events costs one pass over its text.
    const boundary = /\r?\n\r?\n/g;
    let start = 0;
    let out = "";
    for (let match = boundary.exec(pending); match; match = boundary.exec(pending)) {
      const end = match.index + match[0].length;
      const event = pending.slice(start, match.index);
      const kept = strippedEvent(event.includes("\r") ? event.replace(/\r\n/g, "\n") : event);
      if (kept !== null) out += event === kept ? pending.slice(start, end) : kept + match[0];
      start = end;
    }
    pending = pending.slice(start);
    if (final && pending.length > 0) {
      out += pending;
      pending = "";
    }
    if (out.length > 0) controller.enqueue(encoder.encode(out));
  };
  return new TransformStream({
    transform(chunk, controller) {
      pending += decoder.decode(chunk, { stream: true });
      flushEvents(controller, false);
    },
    flush(controller) {
      pending += decoder.decode();
      flushEvents(controller, true);
    },
  });
}
