import { describe, expect, it } from "vitest";
import { parseRedisUrl } from "../../src/redis/resp/url";

describe("parseRedisUrl", () => {
  it.each([
    ["redis://localhost", { host: "localhost", port: 6379, tls: false, database: 0 }],
    ["redis://127.0.0.1:6380/15", { host: "127.0.0.1", port: 6380, tls: false, database: 15 }],
    ["redis://cache.internal/", { host: "cache.internal", port: 6379, tls: false, database: 0 }],
    ["rediss://cache.internal:6380", { host: "cache.internal", port: 6380, tls: true, database: 0 }],
    ["REDISS://Cache.Internal", { host: "Cache.Internal", port: 6379, tls: true, database: 0 }],
    ["redis://[::1]:7000/2", { host: "::1", port: 7000, tls: false, database: 2 }],
    ["redis://[::1]", { host: "::1", port: 6379, tls: false, database: 0 }],
    [
      "redis://alice:s3cret@h:1/3",
      { host: "h", port: 1, tls: false, username: "alice", password: "s3cret", database: 3 },
    ],
    ["redis://:onlypass@h", { host: "h", port: 6379, tls: false, password: "onlypass", database: 0 }],
    ["redis://bob@h", { host: "h", port: 6379, tls: false, username: "bob", database: 0 }],
    [
      "rediss://us%40er:p%40ss%3Aw%2Frd%20x@h",
      { host: "h", port: 6379, tls: true, username: "us@er", password: "p@ss:w/rd x", database: 0 },
    ],
    ["redis://u:p@ss@h", { host: "h", port: 6379, tls: false, username: "u", password: "p@ss", database: 0 }],
  ])("parses %s", (url, expected) => {
    expect(parseRedisUrl(url)).toEqual(expected);
  });

  it.each([
    ["another scheme", "http://h:6379", /scheme "http:"/],
    ["a unix socket scheme", "unix:///tmp/redis.sock", /scheme/],
    ["not a URL", "localhost:6379", /scheme|invalid/],
    ["garbage", "::::", /invalid Redis URL/],
    ["no host", "redis://", /no host|invalid/],
    ["a database that is not a number", "redis://h/abc", /database number/],
    ["a negative database", "redis://h/-1", /database number/],
    ["a database with a leading zero", "redis://h/01", /database number/],
    ["a database path with more segments", "redis://h/1/2", /database number/],
    ["a port out of range", "redis://h:70000", /invalid Redis URL/],
    ["port zero", "redis://h:0", /bad port/],
  ])("rejects %s with a TypeError", (_name, url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(TypeError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it.each([
    "http://user:hunter2@h",
    "redis://user:hunter2@h/abc",
    "redis://user:hunter2@h:99999",
    "redis://user:hunter2@h/-3",
    "redis://user:hunter2%@h",
    "redis://user%ZZ:hunter2@h",
    "redis://user:hunter2@[::1/0",
  ])("never puts the password in an error: %s", (url) => {
    let caught: unknown;
    try {
      parseRedisUrl(url);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TypeError);
    const err = caught as TypeError;
    expect(`${err.message} ${err.stack} ${String(err.cause)} ${JSON.stringify(err)}`).not.toContain("hunter2");
    expect(err.cause).toBeUndefined();
  });
});
