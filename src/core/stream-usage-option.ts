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
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const request = parsed as { stream?: unknown; stream_options?: unknown };
  if (request.stream !== true) return null;
  const options = request.stream_options;
  if (options !== undefined && options !== null && (typeof options !== "object" || Array.isArray(options))) {
    return null; // malformed: leave it to the upstream to refuse
  }
  if ((options as { include_usage?: unknown } | null | undefined)?.include_usage === true) return null;
  return JSON.stringify({ ...request, stream_options: { ...(options ?? {}), include_usage: true } });
}

const USAGE_NULL = [',"usage":null', '"usage":null,', ', "usage": null', '"usage": null, '];

/** One event's lines, without what the option added; null to drop the whole event. */
export function strippedEvent(event: string): string | null {
  const data = event
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => l.slice(l[5] === " " ? 6 : 5))
    .join("\n");
  if (data.includes('"usage"') && data !== "[DONE]") {
    try {
      const chunk = JSON.parse(data) as { choices?: unknown; usage?: unknown };
      // The chunk the option added: no choices, only the usage.
      if (Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage) return null;
    } catch {
      // not JSON: pass it on untouched
    }
  }
  let out = event;
  for (const member of USAGE_NULL) out = out.split(member).join("");
  return out;
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
    for (;;) {
      const match = /\r?\n\r?\n/.exec(pending);
      if (!match) break;
      const end = match.index + match[0].length;
      const event = pending.slice(0, match.index);
      const kept = strippedEvent(event.replace(/\r\n/g, "\n"));
      if (kept !== null) controller.enqueue(encoder.encode(event === kept ? pending.slice(0, end) : kept + match[0]));
      pending = pending.slice(end);
    }
    if (final && pending.length > 0) {
      controller.enqueue(encoder.encode(pending));
      pending = "";
    }
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
