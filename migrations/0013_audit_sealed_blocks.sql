-- SPEC §11: events carry their own hash and are sealed into signed blocks. Events written before
-- keep their chain (prev_hash) and no xid: the first block links to the chain's head.
CREATE TABLE "audit_blocks" (
	"seq" bigint PRIMARY KEY NOT NULL,
	"first_event_id" bigint NOT NULL,
	"last_event_id" bigint NOT NULL,
	"count" integer NOT NULL,
	"root" text NOT NULL,
	"prev_block_hash" text NOT NULL,
	"sealed_at" timestamp with time zone NOT NULL,
	"hash" text NOT NULL,
	"signature" text,
	CONSTRAINT "audit_blocks_first_event_id_unique" UNIQUE("first_event_id"),
	CONSTRAINT "audit_blocks_last_event_id_unique" UNIQUE("last_event_id")
);
--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "prev_hash" DROP NOT NULL;--> statement-breakpoint
-- Added without a default first, so the existing events keep a null xid (a volatile default would
-- give them all the migration's own transaction id); then the default for new events.
ALTER TABLE "audit_events" ADD COLUMN "xid" xid8;--> statement-breakpoint
ALTER TABLE "audit_events" ALTER COLUMN "xid" SET DEFAULT pg_current_xact_id();--> statement-breakpoint
CREATE INDEX "audit_chain_idx" ON "audit_events" USING btree ("id") WHERE "audit_events"."xid" is null;--> statement-breakpoint
-- Blocks are append-only like the events, in every session (see 0001, 0002).
CREATE OR REPLACE FUNCTION brevet_audit_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER audit_blocks_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_blocks
  FOR EACH ROW EXECUTE FUNCTION brevet_audit_is_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_blocks_no_truncate
  BEFORE TRUNCATE ON audit_blocks
  FOR EACH STATEMENT EXECUTE FUNCTION brevet_audit_is_append_only();
--> statement-breakpoint
ALTER TABLE audit_blocks ENABLE ALWAYS TRIGGER audit_blocks_no_update_delete;
--> statement-breakpoint
ALTER TABLE audit_blocks ENABLE ALWAYS TRIGGER audit_blocks_no_truncate;
