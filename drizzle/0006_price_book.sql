-- The price book (issue 15). Existing tenants and invoices keep their meaning: with no
-- prices, usage is billed by units at the tenant's unit_price or BILLING_UNIT_COST as before;
-- invoices already issued keep their v1 line items; the new billing details are null.
CREATE TABLE "prices" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "prices_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" text,
	"model" text NOT NULL,
	"dimension" text NOT NULL,
	"currency" text NOT NULL,
	"unit_price" numeric(30, 12) NOT NULL,
	"effective_from" date NOT NULL,
	"tiers" jsonb,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "prices_scope_unique" UNIQUE NULLS NOT DISTINCT("tenant_id","model","dimension","effective_from"),
	CONSTRAINT "prices_dimension_check" CHECK ("prices"."dimension" in ('requests', 'inputTokens', 'outputTokens', 'cachedInputTokens', 'units')),
	CONSTRAINT "prices_unit_price_check" CHECK ("prices"."unit_price" >= 0)
);
--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "billing_account_id" text;--> statement-breakpoint
ALTER TABLE "invoices" ADD COLUMN "payment_method_ref" text;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "payment_method_ref" text;--> statement-breakpoint
ALTER TABLE "prices" ADD CONSTRAINT "prices_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;