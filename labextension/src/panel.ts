import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import {
  badgeText,
  COUNTERS,
  DECISIONS,
  filterEvents,
  formatCell,
  formatTime,
  IFilter,
  IGuardEvent,
  ISummary
} from './format';

const SHIELD_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161"
    d="M12 1 3 5v6c0 5.55 3.84 10.74 9 12 5.16-1.26 9-6.45 9-12V5l-9-4zm-1.2 15.2-3.5-3.5 1.4-1.4 2.1 2.1 5.3-5.3 1.4 1.4-6.7 6.7z"/>
</svg>`;

export const shieldIcon = new LabIcon({ name: 'jupyter-guard:shield', svgstr: SHIELD_SVG });

export const POLL_MS = 2000;
const EVENT_LIMIT = 100;

function el<K extends keyof HTMLElementTagNameMap>(
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

/**
 * The "Guard" sidebar: counts by decision, a filterable list of recent events, and the number of
 * blocks as a badge on the panel and its sidebar tab. Polls the server API every two seconds.
 */
export class GuardPanel extends Widget {
  private _settings = ServerConnection.makeSettings();
  private _events: IGuardEvent[] = [];
  private _filter: IFilter = { decision: '', text: '' };
  private _timer = 0;
  private _counts = new Map<string, HTMLElement>();
  private _badge = el('span', 'jp-GuardPanel-badge');
  private _scope = el('div', 'jp-GuardPanel-scope');
  private _rows = el('ul', 'jp-GuardPanel-events');
  private _status = el('div', 'jp-GuardPanel-status');

  constructor() {
    super();
    this.id = 'jupyter-guard-panel';
    this.addClass('jp-GuardPanel');
    this.title.icon = shieldIcon;
    this.title.caption = 'Guard';
    this.title.className = 'jp-GuardTab';
    this._build();
    void this._poll();
  }

  dispose(): void {
    window.clearTimeout(this._timer);
    super.dispose();
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
    this.node.append(header, this._scope, counts, filters, this._rows, this._status);
  }

  private _setFilter(change: Partial<IFilter>): void {
    this._filter = { ...this._filter, ...change };
    this._renderRows();
  }

  private async _get<T>(path: string): Promise<T> {
    const url = URLExt.join(this._settings.baseUrl, 'jupyter-guard/api', path);
    const response = await ServerConnection.makeRequest(url, {}, this._settings);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.message || `${response.status} ${response.statusText}`);
    }
    return body as T;
  }

  private async _poll(): Promise<void> {
    if (this.isDisposed) {
      return;
    }
    try {
      const [summary, events] = await Promise.all([
        this._get<ISummary>('summary'),
        this._get<{ events: IGuardEvent[] }>(`events?limit=${EVENT_LIMIT}`)
      ]);
      this._renderSummary(summary);
      this._events = events.events;
      this._renderRows();
      this._status.textContent = `Updated ${formatTime(new Date().toISOString())}`;
      this._status.classList.remove('jp-mod-error');
    } catch (err) {
      this._status.textContent = `Guard API unavailable: ${(err as Error).message}`;
      this._status.classList.add('jp-mod-error');
    }
    if (!this.isDisposed) {
      this._timer = window.setTimeout(() => void this._poll(), POLL_MS);
    }
  }

  private _renderSummary(summary: ISummary): void {
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
    const rows = shown.map(e => {
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
      return item;
    });
    if (!rows.length) {
      const text = this._events.length ? 'No event matches.' : 'No events yet.';
      rows.push(el('li', 'jp-GuardPanel-empty', text));
    }
    this._rows.replaceChildren(...rows);
  }
}
