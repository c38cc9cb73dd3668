CREATE TABLE "activity_reports" (
	"request_id" text PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"ended_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"next_pass_at" timestamp with time zone,
	"passes" integer DEFAULT 0 NOT NULL,
	"last_pass_at" timestamp with time zone,
	"last_error" text,
	"events" integer DEFAULT 0 NOT NULL,
	"by_action" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"first_event_at" timestamp with time zone,
	"last_event_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "activity_reports_status_check" CHECK ("activity_reports"."status" in ('pending', 'complete', 'incomplete'))
);
--> statement-breakpoint
ALTER TABLE "activity_reports" ADD CONSTRAINT "activity_reports_request_id_requests_id_fk" FOREIGN KEY ("request_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activity_reports_due_idx" ON "activity_reports" USING btree ("status","next_pass_at");