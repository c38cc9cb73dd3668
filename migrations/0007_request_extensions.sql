ALTER TABLE "requests" ADD COLUMN "kind" text DEFAULT 'access' NOT NULL;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "parent_id" text;--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_parent_id_requests_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."requests"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "requests_parent_idx" ON "requests" USING btree ("parent_id");--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_kind_check" CHECK ("requests"."kind" in ('access', 'extension'));--> statement-breakpoint
ALTER TABLE "requests" ADD CONSTRAINT "requests_parent_check" CHECK (("requests"."kind" = 'extension') = ("requests"."parent_id" is not null));