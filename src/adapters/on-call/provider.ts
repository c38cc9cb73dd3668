/**
 * Who is on call (SPEC §12 on-call auto-approval). PagerDuty today; Opsgenie or others implement
 * the same port. A provider answers the question or throws — it never guesses: any failure means
 * no auto-approval, and the request waits for its approvers as usual.
 */
export interface OnCallProvider {
  /**
   * The first of `scheduleIds` in which the person with this e-mail is on call now, or null when
   * they are on call in none of them (or the provider knows no such person). Throws when the
   * provider cannot answer; stops when `signal` aborts.
   */
  onCallSchedule(email: string, scheduleIds: readonly string[], signal: AbortSignal): Promise<string | null>;
}

/** The providers a profile's `approval.onCall.provider` may name, as configured on this deployment. */
export type OnCallProviders = Partial<Record<'pagerduty', OnCallProvider>>;
