CREATE TABLE "installation" (
	"singleton" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "installation_singleton_check" CHECK ("installation"."singleton"),
	CONSTRAINT "installation_id_check" CHECK ("installation"."id" ~ '^[a-z0-9]{16}$')
);
--> statement-breakpoint
-- The id of this installation, once and for all (issue 10 item 10): several installations may
-- share an AWS role, and each edits only the inline policy named after its own id. 16 hex digits
-- of a random UUID; its uniqueness is what counts, it is no secret.
INSERT INTO "installation" ("id") VALUES (substr(replace(gen_random_uuid()::text, '-', ''), 1, 16));
--> statement-breakpoint
CREATE FUNCTION brevet_installation_is_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'installation is written once: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER installation_is_fixed
  BEFORE UPDATE OR DELETE ON "installation"
  FOR EACH ROW EXECUTE FUNCTION brevet_installation_is_fixed();
