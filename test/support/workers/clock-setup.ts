// Vitest setup file (workerd): applies the run's shifted clock, if any, to the isolate the
// tests, the Worker and its Durable Objects run in (see test-clock.ts).
import { env } from "cloudflare:workers";
import { CLOCK_OFFSET_VAR, shiftClock } from "../test-clock";

shiftClock(Number((env as unknown as Record<string, string | undefined>)[CLOCK_OFFSET_VAR] ?? 0));
