// The RESP client's public surface. Socket adapters are imported by path (./node-socket,
// ./cloudflare-socket), so neither runtime's module ends up in the other's bundle.

export { RedisClient, type RedisClientOptions } from "./client";
export { encodeCommand, encodeCommands, type RedisArg } from "./encoder";
export { RedisClosedError, RedisError, RedisProtocolError, RedisServerError, RedisTimeoutError } from "./errors";
export { type ParserOptions, RespParser } from "./parser";
export type { RedisReply } from "./reply";
export type { RedisSocket, SocketConnector, SocketHandlers, SocketOptions } from "./socket";
export { parseRedisUrl, type RedisConnectionOptions } from "./url";
