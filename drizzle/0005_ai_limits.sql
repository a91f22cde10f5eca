-- v2 limits (issue 14). Existing quotas keep their meaning: no row changes. Every existing
-- tenant keeps its units bucket (rate_per_minute and burst as they were; only new quotas may
-- leave them null, for no units bucket), and gets no request bucket, no calls-in-flight cap,
-- no key limits, no override, and the default alert thresholds (the new columns are null).
ALTER TABLE "tenant_quotas" ALTER COLUMN "rate_per_minute" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ALTER COLUMN "burst" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "limits" jsonb;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "requests_per_minute" integer;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "request_burst" integer;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "max_concurrent" integer;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "alert_thresholds" jsonb;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "override" jsonb;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD COLUMN "override_until" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD CONSTRAINT "tenant_quotas_requests_check" CHECK ("tenant_quotas"."requests_per_minute" >= 0 and "tenant_quotas"."request_burst" >= 1);--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD CONSTRAINT "tenant_quotas_concurrency_check" CHECK ("tenant_quotas"."max_concurrent" >= 1);--> statement-breakpoint
ALTER TABLE "tenant_quotas" ADD CONSTRAINT "tenant_quotas_override_check" CHECK (("tenant_quotas"."override" is null) = ("tenant_quotas"."override_until" is null));