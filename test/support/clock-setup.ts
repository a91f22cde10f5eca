// Vitest setup file (Node): applies the run's shifted clock, if any (see test-clock.ts).
import { CLOCK_OFFSET_VAR, shiftClock } from "./test-clock";

shiftClock(Number(process.env[CLOCK_OFFSET_VAR] ?? 0));
