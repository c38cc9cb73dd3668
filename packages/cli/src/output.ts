import type { RequestView } from './client.js';

const time = (iso: string | null) => (iso === null ? '-' : iso.replace(/\.\d{3}Z$/, 'Z'));

/** One line per request, for `ls` and for what commands answer. */
export function requestLine(request: RequestView): string {
  const window = request.status === 'active' || request.status === 'approved' ? ` ${time(request.startsAt)} → ${time(request.endsAt)}` : '';
  return `${request.id}  ${request.status.padEnd(9)}  ${request.profileName}  ${request.durationSeconds}s${window}`;
}

/** The full picture of one request, for `status` and after a command changed it. */
export function requestDetails(request: RequestView): string {
  const approvals = request.reviews.filter((review) => review.decision === 'approve' && !review.postHoc).length;
  const lines = [
    `${request.id}  ${request.status}${request.breakGlass ? '  (break-glass)' : ''}`,
    `  profile        ${request.profileName} (v${request.profileVersion})`,
    `  duration       ${request.durationSeconds}s`,
    `  justification  ${request.justification}`,
  ];
  if (request.ticket !== null) lines.push(`  ticket         ${request.ticket}`);
  lines.push(`  approvals      ${approvals} of ${request.approvalsRequired}`);
  if (request.startsAt !== null) lines.push(`  window         ${time(request.startsAt)} → ${time(request.endsAt)}`);
  if (request.status === 'pending') lines.push(`  expires        ${time(request.pendingExpiresAt)} unless decided`);
  for (const review of request.reviews) {
    lines.push(`  ${review.decision === 'approve' ? 'approved' : 'denied'} by   ${review.reviewerId}${review.comment === null ? '' : `: ${review.comment}`}`);
  }
  if (request.revokedReason !== null) lines.push(`  revoked        ${request.revokedReason}`);
  return lines.join('\n');
}

/** The deny comment of a denied request, for the exit-3 message. */
export function denyComment(request: RequestView): string | undefined {
  return request.reviews.find((review) => review.decision === 'deny')?.comment ?? undefined;
}
