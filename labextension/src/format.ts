/**
 * Pure helpers for the Guard sidebar: no DOM, no JupyterLab imports, so jest can test them as is.
 */

export type Decision = 'allow' | 'mask' | 'warn' | 'approval' | 'block';

export const DECISIONS: Decision[] = [
  'allow',
  'mask',
  'warn',
  'approval',
  'block'
];

/** The counter labels shown on top of the panel, in order. */
export const COUNTERS: { decision: Decision; label: string }[] = [
  { decision: 'allow', label: 'allowed' },
  { decision: 'mask', label: 'masked' },
  { decision: 'warn', label: 'warned' },
  { decision: 'block', label: 'blocked' }
];

/** The measured effect of a refused statement (a refusal's `effect`, version 1). */
export interface IEffect {
  rows?: number | null;
  tables?: string[];
  columns?: string[];
  sensitive_columns?: string[];
  target?: string | null;
}

/** A safer statement the guard suggests for a refusal (a refusal's `rewrite`, version 1). */
export interface IRewrite {
  kind: string;
  sql: string | null;
  hint: string;
  count_sql: string | null;
}

/** The structured refusal the kernel sends with its error (schema jupyter_guard.refusal v1). */
export interface IRefusal {
  rule_id: string;
  decision: string;
  reason: string;
  statement: string | null;
  effect: IEffect | null;
  rewrite: IRewrite | null;
}

/** One audit event as the server API returns it (its columns, hashes left out). */
export interface IGuardEvent {
  event_id: string;
  ts: string | null;
  user_name: string | null;
  notebook: string | null;
  cell_id: string | null;
  execution_count: number | null;
  kind: string | null;
  code: string | null;
  decision: Decision | string;
  rule_id: string | null;
  reason: string | null;
  status: string | null;
  /** The structured refusal, when the server sends it with the event. */
  refusal?: IRefusal | null;
}

export interface ISummary {
  counts: Record<string, number>;
  total: number;
  scope: 'user' | 'all';
  requester: string;
  pending_approvals: number;
  top_rules: { rule_id: string; count: number; blocked: number }[];
}

export interface IFilter {
  /** '' for every decision. */
  decision: string;
  /** Case-insensitive text searched in rule, reason, code, cell and notebook. */
  text: string;
}

/** The events that pass the filter, in the order given. */
export function filterEvents(
  events: IGuardEvent[],
  filter: IFilter
): IGuardEvent[] {
  const text = filter.text.trim().toLowerCase();
  return events.filter(e => {
    if (filter.decision && e.decision !== filter.decision) {
      return false;
    }
    if (!text) {
      return true;
    }
    return [e.rule_id, e.reason, e.code, e.cell_id, e.notebook, e.user_name]
      .filter((v): v is string => typeof v === 'string')
      .some(v => v.toLowerCase().includes(text));
  });
}

/** `12:06:03` for today's events, `2026-01-01 12:06` for older ones; '' when unknown. */
export function formatTime(iso: string | null, now: Date = new Date()): string {
  if (!iso) {
    return '';
  }
  const t = new Date(iso);
  if (isNaN(t.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  const hms = `${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
  if (t.toDateString() === now.toDateString()) {
    return hms;
  }
  const ymd = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  return `${ymd} ${hms.slice(0, 5)}`;
}

/** Where the event happened: `[3]` (execution count), else a short cell id. */
export function formatCell(e: IGuardEvent): string {
  if (e.execution_count !== null && e.execution_count !== undefined) {
    return `[${e.execution_count}]`;
  }
  return e.cell_id ? e.cell_id.slice(0, 8) : '';
}

/** The badge text for a number of blocks: '' for none, '99+' past 99. */
export function badgeText(blocked: number): string {
  if (!blocked || blocked < 0) {
    return '';
  }
  return blocked > 99 ? '99+' : String(blocked);
}
