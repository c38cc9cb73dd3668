CREATE TABLE "policy_checks" (
	"policy_hash" text NOT NULL,
	"action" text NOT NULL,
	"may_grant" boolean NOT NULL,
	"checked_at" timestamp with time zone NOT NULL,
	CONSTRAINT "policy_checks_policy_hash_action_pk" PRIMARY KEY("policy_hash","action")
);
--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "evidence" jsonb;