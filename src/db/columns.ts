// Column helpers every table module shares.

import { timestamp } from "drizzle-orm/pg-core";

// Millisecond precision, so a timestamp survives the round trip through a JS Date exactly
// (keyset pagination cursors depend on it).
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date", precision: 3 });
