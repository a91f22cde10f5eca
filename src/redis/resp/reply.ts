// What a RESP reply is: the byte that starts each kind of value, and the value it decodes to.

import type { RedisServerError } from "./errors";

/**
 * A decoded reply. Simple and bulk strings are UTF-8 strings; integers are numbers, or bigints
 * beyond ±2^53 (Redis integers are 64-bit); RESP3 doubles are numbers, big numbers bigints, maps
 * Maps and sets arrays. A RedisServerError appears here only nested in an array (EXEC, a Lua
 * table): a top-level error reply makes `send` reject instead.
 */
export type RedisReply =
  | null
  | string
  | number
  | bigint
  | boolean
  | RedisServerError
  | RedisReply[]
  | Map<RedisReply, RedisReply>;

// Values on one line (RESP2 and RESP3).
export const SIMPLE = 0x2b; // +
export const ERROR = 0x2d; // -
export const INTEGER = 0x3a; // :
export const NULL = 0x5f; // _
export const BOOLEAN = 0x23; // #
export const DOUBLE = 0x2c; // ,
export const BIG_NUMBER = 0x28; // (
// Values whose payload follows their length.
export const BULK = 0x24; // $
export const BULK_ERROR = 0x21; // !
export const VERBATIM = 0x3d; // =
// Aggregates. Sets (~) need no constant: they read as arrays, the parser's default branch.
export const ARRAY = 0x2a; // *
export const MAP = 0x25; // %
export const PUSH = 0x3e; // >
export const ATTRIBUTE = 0x7c; // |

/** Every type byte a reply may start with. */
export const TYPES = new Set(Array.from("+-:$*_#,(!=%~>|", (c) => c.charCodeAt(0)));
