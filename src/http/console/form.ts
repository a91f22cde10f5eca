// Reading a console form: one parse per request, shared by the CSRF check and the handler,
// and a body that is not a well-formed form is the sender's mistake (4xx), never a 500.

import type { Context } from "hono";
import { Problem } from "../problem";

/** A form's fields: text, or a File for a multipart part sent with a filename. */
export type ConsoleForm = Record<string, string | File | (string | File)[]>;

const FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);
const parsed = new WeakMap<Context, Promise<ConsoleForm>>();

/**
 * The request's form fields. Throws a 415 Problem for a body that is not urlencoded or
 * multipart (Hono would read it as an empty form, and the caller would blame a missing
 * field), and a 400 Problem for one the parser cannot read.
 *
 * @example
 * const form = await readForm(c);
 * const name = typeof form.name === "string" ? form.name : "";
 */
export function readForm(c: Context): Promise<ConsoleForm> {
  let form = parsed.get(c);
  if (!form) {
    form = parseForm(c);
    parsed.set(c, form);
  }
  return form;
}

async function parseForm(c: Context): Promise<ConsoleForm> {
  const mediaType = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  if (!FORM_TYPES.has(mediaType)) {
    throw new Problem(
      415,
      "unsupported-media-type",
      "console forms are sent as application/x-www-form-urlencoded or multipart/form-data",
    );
  }
  try {
    return await c.req.parseBody();
  } catch (err) {
    // The runtime's form parser (workerd's and undici's alike) refuses a body with a
    // TypeError: multipart without its boundary, cut short, or with a malformed part.
    if (!(err instanceof TypeError)) throw err;
    const hint = mediaType === "multipart/form-data" ? " (check its boundary parameter and closing delimiter)" : "";
    throw new Problem(400, "invalid-form", `the body could not be read as ${mediaType}${hint}`);
  }
}
