/**
 * The sidebar's DOM pieces: one event (with its refused code marked and the safer rewrite), one
 * approval request (with its Approve and Deny buttons when the caller may decide it).
 */
import { IApprovalRequest } from './api';
import {
  decidable,
  describeEffect,
  effectiveStatus,
  formatExpiry
} from './approvals';
import {
  formatCell,
  formatTime,
  IGuardEvent,
  IRefusal,
  IRewrite
} from './format';
import { focusNames, highlight, refused } from './refusals';

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text) {
    node.textContent = text;
  }
  return node;
}

/** A block of code with the refused statement in a `<mark>` and, inside it, the parts the
 * refusal is about in a `<strong>`. */
function codeBlock(code: string, refusal: IRefusal | null): HTMLElement {
  const pre = el('pre', 'jp-GuardPanel-code');
  const names = focusNames(refusal);
  let mark: HTMLElement | null = null;
  for (const s of highlight(
    code,
    refusal?.statement ?? null,
    names,
    refusal?.rule_id
  )) {
    if (!s.mark) {
      mark = null;
      pre.append(s.text);
      continue;
    }
    if (!mark) {
      mark = el('mark', 'jp-GuardPanel-offending');
      pre.append(mark);
    }
    mark.append(s.focus ? el('strong', 'jp-GuardPanel-focus', s.text) : s.text);
  }
  return pre;
}

function rewriteBlock(rw: IRewrite): HTMLElement {
  const box = el('div', 'jp-GuardPanel-rewrite');
  box.dataset.kind = rw.kind;
  box.append(el('div', 'jp-GuardPanel-rewriteHint', `Safer: ${rw.hint}`));
  if (rw.sql) {
    box.append(el('pre', 'jp-GuardPanel-rewriteSql', rw.sql));
  }
  if (rw.count_sql) {
    box.append(
      el('div', 'jp-GuardPanel-rewriteLabel', 'Count the rows first:'),
      el('pre', 'jp-GuardPanel-rewriteCount', rw.count_sql)
    );
  }
  return box;
}

/** One event; a refused one shows its code, the refused part marked, and the rewrite. */
export function eventRow(
  e: IGuardEvent,
  refusal: IRefusal | null
): HTMLElement {
  const item = el('li', 'jp-GuardPanel-event');
  item.dataset.decision = String(e.decision);
  item.title = e.code ?? '';
  const line = el('div', 'jp-GuardPanel-eventLine');
  line.append(
    el('span', 'jp-GuardPanel-time', formatTime(e.ts)),
    el('span', 'jp-GuardPanel-cell', formatCell(e)),
    el('span', 'jp-GuardPanel-decision', String(e.decision)),
    el('span', 'jp-GuardPanel-rule', e.rule_id ?? '')
  );
  item.append(line, el('div', 'jp-GuardPanel-reason', e.reason ?? ''));
  if (!refused(e)) {
    return item;
  }
  if (e.code) {
    item.append(codeBlock(e.code, refusal));
  }
  const effect = describeEffect(
    refusal?.effect as Record<string, unknown> | null
  );
  if (effect) {
    item.append(el('div', 'jp-GuardPanel-effect', effect));
  }
  if (refusal?.rewrite) {
    item.append(rewriteBlock(refusal.rewrite));
  }
  return item;
}

export interface IRequestActions {
  /** The reason typed so far for a request (kept across re-renders). */
  reason(id: string): string;
  setReason(id: string, text: string): void;
  decide(
    r: IApprovalRequest,
    decision: 'approve' | 'deny',
    item: HTMLElement
  ): void;
}

/** One approval request; with `actions`, the reason field and the buttons to decide it. */
export function requestItem(
  r: IApprovalRequest,
  actions: IRequestActions | null,
  now: Date = new Date()
): HTMLElement {
  const status = effectiveStatus(r, now);
  const item = el('li', 'jp-GuardPanel-request');
  item.dataset.id = r.id;
  item.dataset.status = status;
  const line = el('div', 'jp-GuardPanel-eventLine');
  line.append(
    el('span', 'jp-GuardPanel-requester', r.requester),
    el('span', 'jp-GuardPanel-rule', r.rule),
    el('span', 'jp-GuardPanel-requestStatus', status)
  );
  const expiry = status === 'pending' ? formatExpiry(r.expires_at, now) : '';
  if (expiry) {
    line.append(el('span', 'jp-GuardPanel-time', expiry));
  }
  if (r.decided_by && status !== 'pending') {
    line.append(el('span', 'jp-GuardPanel-time', `by ${r.decided_by}`));
  }
  item.append(line, el('div', 'jp-GuardPanel-reason', r.reason ?? ''));
  if (r.code) {
    item.append(el('pre', 'jp-GuardPanel-code', r.code));
  }
  const effect = describeEffect(r.effect);
  item.append(
    el('div', 'jp-GuardPanel-effect', effect ? `Effect: ${effect}` : '')
  );
  if (actions && decidable(r, now)) {
    const bar = el('div', 'jp-GuardPanel-decide');
    const why = el('input', 'jp-mod-styled jp-GuardPanel-decisionReason');
    why.placeholder = 'Reason (optional)';
    why.setAttribute('aria-label', `Reason for deciding request ${r.id}`);
    why.value = actions.reason(r.id);
    why.oninput = () => actions.setReason(r.id, why.value);
    const approve = el(
      'button',
      'jp-mod-styled jp-mod-accept jp-GuardPanel-approve',
      'Approve'
    );
    const deny = el(
      'button',
      'jp-mod-styled jp-mod-reject jp-GuardPanel-deny',
      'Deny'
    );
    approve.onclick = () => actions.decide(r, 'approve', item);
    deny.onclick = () => actions.decide(r, 'deny', item);
    bar.append(why, approve, deny);
    item.append(bar);
  }
  return item;
}
