// Reading a console form: one parse per request, shared by the CSRF check and the handler,
// and a body that is not a well-formed form is the sender's mistake (4xx), never a 500. Also
// the fields the forms share: text as sent, and limits typed as a number or left empty.

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

/** A text field as sent; undefined when the form has none by that name (absent, or a file). */
export function textField(form: ConsoleForm, name: string): string | undefined {
  const v = form[name];
  return typeof v === "string" ? v : undefined;
}

/** A limit as a form field shows it: its number, or empty for none. */
export const limitText = (n: number | null | undefined): string => (typeof n === "number" ? String(n) : "");

/**
 * Limit fields as typed: empty is none (null), a whole number is itself. Anything else is an
 * issue in the words the page shows ("burst: must be a whole number, or empty for none"),
 * where Number() would take "0x10" or "1e3" and the schema would only say "expected number".
 */
export function parseLimits<F extends string>(
  typed: Record<F, string>,
  fields: readonly F[],
): { limits: Record<F, number | null>; issues: string[] } {
  const limits = {} as Record<F, number | null>;
  const issues: string[] = [];
  for (const field of fields) {
    const text = typed[field].trim();
    if (text === "") limits[field] = null;
    else if (/^\d{1,15}$/.test(text)) limits[field] = Number(text);
    else issues.push(`${field}: must be a whole number, or empty for none`);
  }
  return { limits, issues };
}

/** A schema's issues as the pages show them: "burst: Too small: expected number to be >=1; ...". */
export const describeIssues = (issues: readonly { path: readonly PropertyKey[]; message: string }[]) =>
  issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; ");
