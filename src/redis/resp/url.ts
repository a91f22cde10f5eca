// Parses redis:// and rediss:// URLs into connection options, without ever echoing the password.

export interface RedisConnectionOptions {
  host: string;
  port: number;
  /** rediss:// */
  tls: boolean;
  username?: string;
  password?: string;
  /** The logical database selected after connecting; 0 unless the path says otherwise. */
  database: number;
}

const DEFAULT_PORT = 6379;

/**
 * `redis://[user[:password]@]host[:port][/db]`, or `rediss://` for TLS. User and password are
 * percent-decoded; an IPv6 host is written in brackets. Throws TypeError on anything else, with
 * a message that never includes the URL (it holds the password).
 *
 * @example
 * parseRedisUrl("rediss://default:s%40cret@cache.internal:6380/2");
 * // { host: "cache.internal", port: 6380, tls: true, username: "default", password: "s@cret", database: 2 }
 */
export function parseRedisUrl(url: string): RedisConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not rethrown with a cause: the URL parser's error carries the input, password and all.
    throw new TypeError("invalid Redis URL: expected redis://[user[:password]@]host[:port][/db]");
  }
  const tls = parsed.protocol === "rediss:";
  if (!tls && parsed.protocol !== "redis:") {
    throw new TypeError(`unsupported Redis URL scheme "${parsed.protocol}": expected redis: or rediss:`);
  }
  const host = parsed.hostname.startsWith("[") ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (host === "") throw new TypeError("invalid Redis URL: no host");
  const port = parsed.port === "" ? DEFAULT_PORT : Number(parsed.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new TypeError("invalid Redis URL: bad port");
  const path = parsed.pathname.replace(/^\//, "");
  if (path !== "" && !/^(0|[1-9]\d{0,8})$/.test(path)) {
    throw new TypeError("invalid Redis URL: the path must be a database number, such as /0");
  }
  const options: RedisConnectionOptions = { host, port, tls, database: path === "" ? 0 : Number(path) };
  const username = decode(parsed.username, "user name");
  const password = decode(parsed.password, "password");
  if (username !== "") options.username = username;
  if (password !== "") options.password = password;
  return options;
}

function decode(value: string, what: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw new TypeError(`invalid Redis URL: bad percent-encoding in the ${what}`);
  }
}
