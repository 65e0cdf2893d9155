/**
 * Pure helpers for the approval requests in the sidebar: which to show where, what their status
 * is now, and their measured effect in one line. No DOM, so jest tests them as is.
 */
import { IApprovalRequest } from './api';

export const STATUSES = ['pending', 'approved', 'denied', 'expired', 'used'];

/** The status to show: a pending request past its expiry is `expired`, whatever the server's
 * last answer said (the server refuses to use it anyway). */
export function effectiveStatus(
  r: IApprovalRequest,
  now: Date = new Date()
): string {
  if (r.status === 'pending' && r.expires_at) {
    const t = new Date(r.expires_at).getTime();
    if (!isNaN(t) && t <= now.getTime()) {
      return 'expired';
    }
  }
  return r.status;
}

/** Whether the caller can approve or deny `r` right now. */
export function decidable(
  r: IApprovalRequest,
  now: Date = new Date()
): boolean {
  return r.may_decide && effectiveStatus(r, now) === 'pending';
}

/** `expires in 4 min`, `expired`, or '' when the request has no expiry. */
export function formatExpiry(
  expiresAt: string | null,
  now: Date = new Date()
): string {
  if (!expiresAt) {
    return '';
  }
  const t = new Date(expiresAt).getTime();
  if (isNaN(t)) {
    return '';
  }
  const seconds = Math.round((t - now.getTime()) / 1000);
  if (seconds <= 0) {
    return 'expired';
  }
  if (seconds < 90) {
    return `expires in ${seconds} s`;
  }
  if (seconds < 90 * 60) {
    return `expires in ${Math.round(seconds / 60)} min`;
  }
  return `expires in ${Math.round(seconds / 3600)} h`;
}

function names(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string')
    : [];
}

/** The measured effect in one line: `3 rows · tables t · columns c.ssn (sensitive)`.
 * Keys other than the refusal's known ones are listed as `key: value`. */
export function describeEffect(
  effect: Record<string, unknown> | null | undefined
): string {
  if (!effect || typeof effect !== 'object') {
    return '';
  }
  const parts: string[] = [];
  const rows = effect.rows;
  if (typeof rows === 'number') {
    parts.push(`${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}`);
  }
  const tables = names(effect.tables);
  if (tables.length) {
    parts.push(`table${tables.length === 1 ? '' : 's'} ${tables.join(', ')}`);
  }
  const sensitive = new Set(names(effect.sensitive_columns));
  const columns = names(effect.columns);
  if (columns.length) {
    const shown = columns.map(c => (sensitive.has(c) ? `${c} (sensitive)` : c));
    parts.push(`column${columns.length === 1 ? '' : 's'} ${shown.join(', ')}`);
  }
  if (
    typeof effect.target === 'string' &&
    effect.target &&
    !tables.includes(effect.target)
  ) {
    parts.push(`to ${effect.target}`);
  }
  const known = new Set([
    'rows',
    'tables',
    'columns',
    'sensitive_columns',
    'target'
  ]);
  for (const [key, value] of Object.entries(effect)) {
    if (
      !known.has(key) &&
      value !== null &&
      value !== undefined &&
      value !== ''
    ) {
      parts.push(
        `${key}: ${typeof value === 'object' ? JSON.stringify(value) : value}`
      );
    }
  }
  return parts.join(' · ');
}

/** The requests waiting for the caller's decision, oldest first (they expire first). */
export function toDecide(
  pending: IApprovalRequest[],
  now: Date = new Date()
): IApprovalRequest[] {
  return pending
    .filter(r => decidable(r, now))
    .sort((a, b) => (a.created_at ?? '').localeCompare(b.created_at ?? ''));
}

/** The caller's own requests, newest first. */
export function newestFirst(mine: IApprovalRequest[]): IApprovalRequest[] {
  return [...mine].sort((a, b) =>
    (b.created_at ?? '').localeCompare(a.created_at ?? '')
  );
}
