-- Fire the append-only triggers in every session, including those with
-- session_replication_role = replica, which otherwise skips ordinary triggers.
ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_update_delete;
--> statement-breakpoint
ALTER TABLE audit_events ENABLE ALWAYS TRIGGER audit_events_no_truncate;
