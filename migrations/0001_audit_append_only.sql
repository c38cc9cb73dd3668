-- The audit trail is append-only at the database level: whoever connects, the rows cannot be
-- changed or removed. Tampering needs a superuser to disable these triggers first, which the
-- hash chain then exposes through GET /v1/audit/verify.
CREATE FUNCTION brevet_audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_events_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION brevet_audit_is_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate
  BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION brevet_audit_is_append_only();
