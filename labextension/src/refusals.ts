/**
 * The structured refusals behind the sidebar's events: where each comes from, which event it
 * belongs to, and the part of the event's code it refused. No DOM, so jest tests them as is.
 *
 * A refused cell's kernel sends its refusal (schema `jupyter_guard.refusal`, version 1) under the
 * key `jupyter_guard` of the iopub `error` message. The sidebar keeps the latest ones it saw in
 * this browser and matches them to the audit events the server lists; an event that carries its
 * own `refusal` uses that.
 */
import { IGuardEvent, IRefusal } from './format';

export const SCHEMA = 'jupyter_guard.refusal';
export const KEEP = 50;

/** The refusal an iopub message carries, or null. */
export function refusalOf(msg: {
  header?: { msg_type?: string };
  content?: unknown;
}): IRefusal | null {
  if (
    msg.header?.msg_type !== 'error' ||
    !msg.content ||
    typeof msg.content !== 'object'
  ) {
    return null;
  }
  const details = (msg.content as Record<string, unknown>).jupyter_guard;
  if (!details || typeof details !== 'object') {
    return null;
  }
  const d = details as Record<string, unknown>;
  if (d.schema !== SCHEMA || typeof d.rule_id !== 'string') {
    return null;
  }
  return {
    rule_id: d.rule_id,
    decision: String(d.decision ?? ''),
    reason: String(d.reason ?? ''),
    statement:
      typeof d.statement === 'string' && d.statement ? d.statement : null,
    effect:
      d.effect && typeof d.effect === 'object'
        ? (d.effect as IRefusal['effect'])
        : null,
    rewrite:
      d.rewrite && typeof d.rewrite === 'object'
        ? (d.rewrite as IRefusal['rewrite'])
        : null
  };
}

/** The latest refusals seen, newest first, at most `KEEP`. */
export class RefusalLog {
  private _items: IRefusal[] = [];

  add(r: IRefusal): void {
    this._items = [r, ...this._items].slice(0, KEEP);
  }

  get items(): readonly IRefusal[] {
    return this._items;
  }

  /** The refusal of an event: its own, else the newest seen with its rule whose statement is in
   * the event's code (or, with no statement, whose reason is the event's). */
  forEvent(e: IGuardEvent): IRefusal | null {
    if (e.refusal) {
      return e.refusal;
    }
    if (!e.rule_id) {
      return null;
    }
    return (
      this._items.find(
        r =>
          r.rule_id === e.rule_id &&
          (r.statement
            ? find(e.code ?? '', r.statement) !== null
            : r.reason === e.reason)
      ) ?? null
    );
  }
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where `statement` is in `code` ([start, end)), any run of white space matching any other and
 * letters in any case; null when it is not there. */
export function find(code: string, statement: string): [number, number] | null {
  const words = statement.trim().split(/\s+/).filter(Boolean);
  if (!words.length || !code) {
    return null;
  }
  const m = new RegExp(words.map(escape).join('\\s+'), 'i').exec(code);
  return m ? [m.index, m.index + m[0].length] : null;
}

export interface ISegment {
  text: string;
  /** In the refused statement. */
  mark: boolean;
  /** The part of the statement the refusal is about (a sensitive column, the dropped table, the
   * WHERE of a bulk change), as the kernel's message underlines it. */
  focus?: boolean;
}

/** The names a refusal is about: its sensitive columns, else the target of a drop or schema
 * change (unqualified, as they are written in the statement). */
export function focusNames(r: IRefusal | null): string[] {
  const last = (n: string) => n.split('.').pop() ?? n;
  const sensitive = (r?.effect?.sensitive_columns ?? [])
    .map(last)
    .filter(Boolean);
  if (sensitive.length) {
    return sensitive;
  }
  const target = r?.effect?.target;
  return target &&
    ['destructive-ddl', 'schema-change'].includes(r?.rule_id ?? '')
    ? [last(target)]
    : [];
}

/** Where in `text` the refusal points: each whole-word `names` match (any case), else for a bulk
 * change its WHERE to the end; sorted, not overlapping. */
export function focusSpans(
  text: string,
  names: string[],
  ruleId = ''
): [number, number][] {
  const spans: [number, number][] = [];
  for (const name of names) {
    const re = new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`, 'gi');
    for (let m = re.exec(text); m; m = re.exec(text)) {
      spans.push([m.index, m.index + m[0].length]);
    }
  }
  if (!spans.length && ruleId === 'bulk-change') {
    const where = /\bwhere\b[\s\S]*/i.exec(text);
    if (where) {
      spans.push([where.index, where.index + where[0].length]);
    }
  }
  spans.sort((x, y) => x[0] - y[0]);
  return spans.filter((s, i) => i === 0 || s[0] >= spans[i - 1][1]);
}

/** The code in pieces: the refused statement marked, and in it the parts the refusal is about;
 * one unmarked piece when the statement is not found. */
export function highlight(
  code: string,
  statement: string | null,
  names: string[] = [],
  ruleId = ''
): ISegment[] {
  const at = statement ? find(code, statement) : null;
  if (!at) {
    return code ? [{ text: code, mark: false }] : [];
  }
  const [a, b] = at;
  const stmt = code.slice(a, b);
  const inner: ISegment[] = [];
  let pos = 0;
  for (const [x, y] of focusSpans(stmt, names, ruleId)) {
    inner.push({ text: stmt.slice(pos, x), mark: true });
    inner.push({ text: stmt.slice(x, y), mark: true, focus: true });
    pos = y;
  }
  inner.push({ text: stmt.slice(pos), mark: true });
  return [
    { text: code.slice(0, a), mark: false },
    ...inner,
    { text: code.slice(b), mark: false }
  ].filter(seg => seg.text);
}

/** Whether the sidebar shows an event's code and refusal: refused or held for approval. (A row
 * that is only marked blocked, such as the kernel's row of a cell the server gate refused, has a
 * refused row of its own.) */
export function refused(e: IGuardEvent): boolean {
  return e.decision === 'block' || e.decision === 'approval';
}
