// The one structured logger: a JSON line per entry, with its level and message first, then
// the entry's fields. Errors and warnings go to stderr (console.error, console.warn), the
// rest to stdout; the console is looked up per entry, so a runtime's or a test's own
// console (a Worker's log capture, vi.spyOn) sees every line.
//
// Callers pass fields, never secrets: keys, tokens and signing secrets are not logged.

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every entry also carries `fields` (a request id, a tenant). */
  child(fields: LogFields): Logger;
}

function write(level: LogLevel, msg: string, fields: LogFields): void {
  // level and msg lead the line, and a field of the same name cannot replace them.
  const line = JSON.stringify(Object.assign({ level, msg }, fields, { level, msg }));
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

export function createLogger(base: LogFields = {}): Logger {
  const at =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}) =>
      write(level, msg, { ...base, ...fields });
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

export const log: Logger = createLogger();
