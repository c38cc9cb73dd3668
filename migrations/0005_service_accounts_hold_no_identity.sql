-- Service accounts are reached by their API keys only (issue 10 item 1). Before this, a service
-- account created with an e-mail could be taken over by an OIDC token or a Slack user carrying that
-- e-mail, and the takeover left an OIDC subject or a Slack user linked to it. Those links and
-- e-mails are cleared here; the audit trail keeps what they were (principal.created,
-- principal.linked). Then the database refuses them for good.
UPDATE "principals" SET "email" = NULL, "oidc_subject" = NULL, "slack_user_id" = NULL
  WHERE "kind" = 'service' AND ("email" IS NOT NULL OR "oidc_subject" IS NOT NULL OR "slack_user_id" IS NOT NULL);--> statement-breakpoint
ALTER TABLE "principals" ADD CONSTRAINT "principals_service_identity_check" CHECK ("principals"."kind" = 'person' or ("principals"."email" is null and "principals"."oidc_subject" is null and "principals"."slack_user_id" is null));
