DROP INDEX "audit_occurred_idx";--> statement-breakpoint
CREATE INDEX "audit_occurred_idx" ON "audit_events" USING btree ("occurred_at","id");