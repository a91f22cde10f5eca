ALTER TABLE "usage_daily" ADD COLUMN "estimated_requests" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_daily" ADD COLUMN "estimated_units" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_late" ADD COLUMN "estimated_requests" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_late" ADD COLUMN "estimated_units" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Not generated: the daily rollup is the sum of usage_records per tenant, day, route and
-- model, so the estimated part of the rows already there is computed from the events.
-- usage_late cannot be told apart that way (an event does not say whether it arrived late);
-- its rows' estimated parts start at 0.
UPDATE "usage_daily" AS d
SET "estimated_requests" = e.requests, "estimated_units" = e.units
FROM (
  SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, route, coalesce(model, '') AS model,
         sum(requests) AS requests, sum(units) AS units
  FROM "usage_records" WHERE estimated GROUP BY 1, 2, 3, 4
) AS e
WHERE d.tenant_id = e.tenant_id AND d.day = e.day AND d.route = e.route AND d.model = e.model;
