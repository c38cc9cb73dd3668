ALTER TABLE "requests" ADD COLUMN "slack_render" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "slack_posting_until" timestamp with time zone;