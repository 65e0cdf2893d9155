import { LabIcon } from '@jupyterlab/ui-components';
import { Poll } from '@lumino/polling';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { GuardApi, IApprovalList, IApprovalRequest } from './api';
import { newestFirst, toDecide } from './approvals';
import {
  badgeText,
  COUNTERS,
  DECISIONS,
  filterEvents,
  formatTime,
  IFilter,
  IGuardEvent,
  IRefusal,
  ISummary
} from './format';
import { RefusalLog } from './refusals';
import { el, eventRow, IRequestActions, requestItem } from './views';

const SHIELD_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161"
    d="M12 1 3 5v6c0 5.55 3.84 10.74 9 12 5.16-1.26 9-6.45 9-12V5l-9-4zm-1.2 15.2-3.5-3.5 1.4-1.4 2.1 2.1 5.3-5.3 1.4 1.4-6.7 6.7z"/>
</svg>`;

export const shieldIcon = new LabIcon({
  name: 'jupyter-guard:shield',
  svgstr: SHIELD_SVG
});

/** The sidebar's settings (schema/sidebar.json); intervals in seconds. */
export interface IPanelSettings {
  pollInterval: number;
  hiddenPollInterval: number;
  scope: 'all' | 'mine';
  eventLimit: number;
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  pollInterval: 2,
  hiddenPollInterval: 30,
  scope: 'all',
  eventLimit: 100
};

const MAX_BACKOFF_MS = 60_000;

/**
 * The "Guard" sidebar: counts by decision, approval requests to decide and the caller's own, a
 * filterable list of recent events (a refused one with its code marked and the safer rewrite),
 * and the number of blocks as a badge on the panel and its tab.
 *
 * While visible it polls every `pollInterval` s. Hidden, it asks only for the summary (the tab's
 * badge) every `hiddenPollInterval` s, and nothing at all while the browser tab is hidden.
 */
export class GuardPanel extends Widget {
  readonly refusals = new RefusalLog();
  private _settings: IPanelSettings = { ...DEFAULT_SETTINGS };
  private _events: IGuardEvent[] = [];
  private _filter: IFilter = { decision: '', text: '' };
  private _me = '';
  private _approvals: { pending: IApprovalList; mine: IApprovalList } | null =
    null;
  private _approvalsShown = '';
  private _reasons = new Map<string, string>();
  private _counts = new Map<string, HTMLElement>();
  private _badge = el('span', 'jp-GuardPanel-badge');
  private _scope = el('div', 'jp-GuardPanel-scope');
  private _requests = el('section', 'jp-GuardPanel-approvals');
  private _toDecide = el('ul', 'jp-GuardPanel-requests jp-GuardPanel-toDecide');
  private _mine = el('ul', 'jp-GuardPanel-requests jp-GuardPanel-mine');
  private _note = el('div', 'jp-GuardPanel-requestMessage');
  private _rows = el('ul', 'jp-GuardPanel-events');
  private _status = el('div', 'jp-GuardPanel-status');
  private _poll: Poll;
  private _badgePoll: Poll;

  constructor(
    private readonly api: GuardApi,
    settings: Partial<IPanelSettings> = {}
  ) {
    super();
    this.id = 'jupyter-guard-panel';
    this.addClass('jp-GuardPanel');
    this.title.icon = shieldIcon;
    this.title.caption = 'Guard';
    this.title.className = 'jp-GuardTab';
    this._build();
    this._settings = { ...DEFAULT_SETTINGS, ...settings };
    this._poll = new Poll({
      name: 'jupyter-guard:sidebar',
      factory: () => this._refresh(),
      frequency: this._frequency(this._settings.pollInterval),
      standby: () => !this.isVisible || document.hidden
    });
    this._badgePoll = new Poll({
      name: 'jupyter-guard:badge',
      factory: () => this._refreshSummary(),
      frequency: this._frequency(this._settings.hiddenPollInterval),
      standby: () =>
        this.isVisible || document.hidden || !this._settings.hiddenPollInterval
    });
  }

  get settings(): IPanelSettings {
    return this._settings;
  }

  set settings(value: IPanelSettings) {
    this._settings = { ...DEFAULT_SETTINGS, ...value };
    this._poll.frequency = this._frequency(this._settings.pollInterval);
    this._badgePoll.frequency = this._frequency(
      this._settings.hiddenPollInterval
    );
    void this._poll.refresh();
  }

  /** A refusal the kernel of an open notebook just sent. */
  addRefusal(r: IRefusal): void {
    this.refusals.add(r);
    this._renderRows();
    if (this.isVisible) {
      void this._poll.refresh();
    }
  }

  dispose(): void {
    this._poll.dispose();
    this._badgePoll.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._poll.refresh();
  }

  private _frequency(seconds: number) {
    const interval = seconds > 0 ? Math.round(seconds * 1000) : Poll.NEVER;
    return { interval, backoff: true, max: Math.max(interval, MAX_BACKOFF_MS) };
  }

  private _build(): void {
    const header = el('header', 'jp-GuardPanel-header');
    header.append(el('h2', 'jp-GuardPanel-title', 'Guard'), this._badge);
    this._badge.title = 'cells blocked';

    const counts = el('div', 'jp-GuardPanel-counts');
    for (const { decision, label } of COUNTERS) {
      const box = el('div', 'jp-GuardPanel-count');
      box.dataset.decision = decision;
      const n = el('span', 'jp-GuardPanel-countValue', '0');
      box.append(n, el('span', 'jp-GuardPanel-countLabel', label));
      this._counts.set(decision, n);
      counts.append(box);
    }

    this._requests.hidden = true;
    this._toDecide.setAttribute('aria-label', 'Requests to decide');
    this._mine.setAttribute('aria-label', 'Your requests');

    const filters = el('div', 'jp-GuardPanel-filters');
    const select = el('select', 'jp-mod-styled jp-GuardPanel-decisionFilter');
    select.setAttribute('aria-label', 'Filter by decision');
    for (const d of ['', ...DECISIONS]) {
      const option = el('option', '', d || 'all decisions');
      option.value = d;
      select.append(option);
    }
    select.onchange = () => this._setFilter({ decision: select.value });
    const search = el('input', 'jp-mod-styled jp-GuardPanel-search');
    search.type = 'search';
    search.placeholder = 'Filter: rule, reason, code…';
    search.oninput = () => this._setFilter({ text: search.value });
    filters.append(select, search);

    this._rows.setAttribute('aria-label', 'Recent events');
    this.node.append(
      header,
      this._scope,
      counts,
      this._requests,
      filters,
      this._rows,
      this._status
    );
  }

  private _setFilter(change: Partial<IFilter>): void {
    this._filter = { ...this._filter, ...change };
    this._renderRows();
  }

  private _user(): string {
    return this._settings.scope === 'mine' ? this._me : '';
  }

  private async _refreshSummary(): Promise<void> {
    this._renderSummary(await this.api.summary(this._user()));
  }

  private async _refresh(): Promise<void> {
    try {
      if (this._settings.scope === 'mine' && !this._me) {
        await this._refreshSummary();
      }
      const [summary, events, approvals] = await Promise.all([
        this.api.summary(this._user()),
        this.api.events(this._settings.eventLimit, this._user()),
        this._fetchApprovals()
      ]);
      this._renderSummary(summary);
      this._events = events.events;
      this._renderRows();
      this._approvals = approvals;
      this._renderApprovals();
      this._status.textContent = `Updated ${formatTime(new Date().toISOString())}`;
      this._status.classList.remove('jp-mod-error');
    } catch (err) {
      this._status.textContent = `Guard API unavailable: ${(err as Error).message}`;
      this._status.classList.add('jp-mod-error');
      throw err; // the poll backs off
    }
  }

  /** Requests pending a decision and the caller's own; null where the server has no approvals
   * API (the section stays hidden). */
  private async _fetchApprovals(): Promise<GuardPanel['_approvals']> {
    try {
      const [pending, mine] = await Promise.all([
        this.api.approvals('pending'),
        this.api.approvals('mine')
      ]);
      return { pending, mine };
    } catch (err) {
      if ((err as { status?: number }).status === 404) {
        return null;
      }
      throw err;
    }
  }

  private _renderSummary(summary: ISummary): void {
    this._me = summary.requester || this._me;
    for (const [decision, node] of this._counts) {
      node.textContent = String(summary.counts[decision] ?? 0);
    }
    const blocked = summary.counts.block ?? 0;
    const badge = badgeText(blocked);
    this._badge.textContent = badge;
    this._badge.hidden = !badge;
    this.title.dataset = { ...this.title.dataset, guardblocks: badge };
    this.title.caption = `Guard: ${blocked} blocked`;
    const who = summary.scope === 'all' ? 'all users' : summary.requester;
    const pending = summary.pending_approvals
      ? ` · ${summary.pending_approvals} approval(s) pending`
      : '';
    this._scope.textContent = `${summary.total} actions · ${who}${pending}`;
  }

  private _renderRows(): void {
    const shown = filterEvents(this._events, this._filter);
    const rows = shown.map(e => eventRow(e, this.refusals.forEvent(e)));
    if (!rows.length) {
      const text = this._events.length ? 'No event matches.' : 'No events yet.';
      rows.push(el('li', 'jp-GuardPanel-empty', text));
    }
    this._rows.replaceChildren(...rows);
  }

  private _renderApprovals(): void {
    const lists = this._approvals;
    this._requests.hidden = lists === null;
    const now = new Date();
    const key = JSON.stringify([lists, now.getMinutes()]);
    if (lists === null || key === this._approvalsShown) {
      return; // unchanged: keep what the user is typing and where the focus is
    }
    this._approvalsShown = key;
    const actions: IRequestActions = {
      reason: id => this._reasons.get(id) ?? '',
      setReason: (id, text) => this._reasons.set(id, text),
      decide: (r, d, item) => void this._decide(r, d, item)
    };
    const parts: HTMLElement[] = [this._note];
    if (lists.pending.may_approve || lists.mine.may_approve) {
      const waiting = toDecide(lists.pending.requests, now);
      this._toDecide.replaceChildren(
        ...(waiting.length
          ? waiting.map(r => requestItem(r, actions, now))
          : [el('li', 'jp-GuardPanel-empty', 'No request waits for you.')])
      );
      parts.push(
        el('h3', 'jp-GuardPanel-subtitle', 'To decide'),
        this._toDecide
      );
    }
    const mine = newestFirst(lists.mine.requests);
    if (mine.length) {
      this._mine.replaceChildren(...mine.map(r => requestItem(r, null, now)));
      parts.push(
        el('h3', 'jp-GuardPanel-subtitle', 'Your requests'),
        this._mine
      );
    }
    this._requests.replaceChildren(...parts);
    this._requests.hidden = parts.length === 1 && !this._note.textContent;
  }

  private async _decide(
    r: IApprovalRequest,
    decision: 'approve' | 'deny',
    item: HTMLElement
  ): Promise<void> {
    item.querySelectorAll('button').forEach(b => (b.disabled = true));
    try {
      const updated = await this.api.decide(
        r.id,
        decision,
        this._reasons.get(r.id) ?? ''
      );
      this._reasons.delete(r.id);
      this._note.textContent = `Request ${r.id} of ${r.requester}: ${updated.status}.`;
      this._note.classList.remove('jp-mod-error');
    } catch (err) {
      this._note.textContent = `Request ${r.id} of ${r.requester}: ${(err as Error).message}`;
      this._note.classList.add('jp-mod-error');
    }
    item.querySelectorAll('button').forEach(b => (b.disabled = false));
    this._approvalsShown = '';
    void this._poll.refresh();
  }
}
