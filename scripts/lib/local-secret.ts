// The local secrets of `npm start` (the key signing secret, the metrics token): read from a
// file, or made and kept there (readable by its owner only), so that what one run issued
// still works in the next. A file whose content is not a valid secret (emptied, cut short,
// edited by hand) is never passed on as one: a blank metrics token would print as blank and
// leave /metrics proxied, a short one would fail config validation without naming the file.

import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { MIN_ADMIN_TOKEN_LENGTH, MIN_METRICS_TOKEN_LENGTH } from "../../src/config";
import { MIN_SIGNING_SECRET_LENGTH } from "../../src/core/api-keys";

interface LocalSecretOptions {
  /** Put before a new secret's random part, to tell what it is. */
  prefix?: string;
  /** Whether the file's (trimmed) content is a usable secret. */
  valid: (secret: string) => boolean;
  /** What the secret is called in messages. */
  what: string;
  /**
   * Given for a file that holds no valid secret: a new one is written over it and this is
   * told so (with the file, never the secret). Without it, such a file is an error naming it.
   */
  onReplaced?: (message: string) => void;
}

function localSecret(file: string | undefined, options: LocalSecretOptions): string {
  if (file && existsSync(file)) {
    const stored = readFileSync(file, "utf8").trim();
    if (options.valid(stored)) return stored;
    if (!options.onReplaced) {
      throw new Error(
        `${file} does not hold a valid ${options.what}: fix the file, or delete it to have a new one made`,
      );
    }
    options.onReplaced(`${file} did not hold a valid ${options.what}; wrote a new one there`);
  }
  const secret = `${options.prefix ?? ""}${randomBytes(32).toString("base64url")}`;
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    // The mode applies only to a file the write creates: one replaced keeps its own.
    chmodSync(file, 0o600);
  }
  return secret;
}

/**
 * A bearer token kept in `file`: one that is not valid as its setting takes it (at least
 * `min` characters, none blank: it is sent in a header) is replaced, with `onReplaced` told.
 */
function localBearerToken(
  file: string,
  token: { prefix: string; what: string; min: number },
  onReplaced: (message: string) => void,
): string {
  return localSecret(file, {
    prefix: token.prefix,
    what: `${token.what} (at least ${token.min} characters, no spaces)`,
    valid: (stored) => stored.length >= token.min && !/\s/.test(stored),
    onReplaced,
  });
}

/** The metrics token kept in `file`; an invalid one is replaced: nothing could scrape with it, so nothing is lost. */
export const localMetricsToken = (file: string, onReplaced: (message: string) => void): string =>
  localBearerToken(file, { prefix: "mtk_", what: "metrics token", min: MIN_METRICS_TOKEN_LENGTH }, onReplaced);

/**
 * The operator token kept in `file`, so that a restart keeps the console logged in and the
 * CLI's AEGIS_ADMIN_TOKEN working. One that is not a valid ADMIN_TOKEN is replaced.
 */
export const localAdminToken = (file: string, onReplaced: (message: string) => void): string =>
  localBearerToken(file, { prefix: "adm_", what: "admin token", min: MIN_ADMIN_TOKEN_LENGTH }, onReplaced);

/**
 * The key signing secret kept in `file`. One that is not a valid KEY_SIGNING_SECRET is an
 * error, not replaced: the operator may mean keys signed with what the file held to keep working.
 */
export function localKeySigningSecret(file: string | undefined): string {
  return localSecret(file, {
    what: `key signing secret (comma-separated secrets of at least ${MIN_SIGNING_SECRET_LENGTH} characters)`,
    // As KEY_SIGNING_SECRET is read: a comma list, trimmed, empty items dropped.
    valid: (secrets) => {
      const list = secrets
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      return list.length > 0 && list.every((s) => s.length >= MIN_SIGNING_SECRET_LENGTH);
    },
  });
}
