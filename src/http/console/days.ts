// UTC days for the console's usage views: core's, re-exported for the pages.

export { DAY_MS, isoDay } from "../../core/calendar";
