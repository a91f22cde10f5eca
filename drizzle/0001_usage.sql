CREATE TABLE "usage_daily" (
	"tenant_id" text NOT NULL,
	"day" date NOT NULL,
	"route" text NOT NULL,
	"units" bigint NOT NULL,
	"requests" bigint NOT NULL,
	CONSTRAINT "usage_daily_tenant_id_day_route_pk" PRIMARY KEY("tenant_id","day","route")
);
--> statement-breakpoint
CREATE TABLE "usage_records" (
	"event_id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"route" text NOT NULL,
	"units" bigint NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"metadata" jsonb,
	CONSTRAINT "usage_records_units_check" CHECK ("usage_records"."units" >= 0)
);
