CREATE TABLE "billing_state" (
	"id" integer PRIMARY KEY NOT NULL,
	"billed_through" date NOT NULL,
	CONSTRAINT "billing_state_single_row" CHECK ("billing_state"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"units" bigint NOT NULL,
	"amount_minor" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'issued' NOT NULL,
	"line_items" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"paid_at" timestamp (3) with time zone,
	"voided_at" timestamp (3) with time zone,
	CONSTRAINT "invoices_tenant_period_unique" UNIQUE("tenant_id","period_start","period_end"),
	CONSTRAINT "invoices_status_check" CHECK ("invoices"."status" in ('draft', 'issued', 'paid', 'void')),
	CONSTRAINT "invoices_period_check" CHECK ("invoices"."period_start" < "invoices"."period_end")
);
--> statement-breakpoint
CREATE TABLE "usage_late" (
	"tenant_id" text NOT NULL,
	"day" date NOT NULL,
	"route" text NOT NULL,
	"units" bigint NOT NULL,
	"requests" bigint NOT NULL,
	CONSTRAINT "usage_late_tenant_id_day_route_pk" PRIMARY KEY("tenant_id","day","route")
);
--> statement-breakpoint
CREATE TABLE "webhook_deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"event_type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone,
	"last_status" integer,
	"last_error" text,
	"claim_token" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp (3) with time zone,
	CONSTRAINT "webhook_deliveries_status_check" CHECK ("webhook_deliveries"."status" in ('pending', 'delivered', 'failed', 'disabled'))
);
--> statement-breakpoint
CREATE INDEX "invoices_status_idx" ON "invoices" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries" USING btree ("status","next_attempt_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_created_idx" ON "webhook_deliveries" USING btree ("created_at");