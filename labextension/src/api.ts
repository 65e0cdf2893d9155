/**
 * The server's Guard API, through a request function the caller gives (JupyterLab's
 * `ServerConnection.makeRequest` in the sidebar, so XSRF and the server's auth apply; a fake fetch
 * in the unit tests). No JupyterLab imports, so jest runs it as is.
 */
import { IGuardEvent, ISummary } from './format';

/** Sends one request; resolves with the response whatever its status. */
export type Requester = (url: string, init: RequestInit) => Promise<Response>;

export type ApprovalStatus =
  'pending' | 'approved' | 'denied' | 'expired' | 'used';

/** One approval request, as `GET .../approvals` lists it. */
export interface IApprovalRequest {
  id: string;
  requester: string;
  code: string;
  rule: string;
  reason: string;
  effect: Record<string, unknown> | null;
  status: ApprovalStatus | string;
  created_at: string | null;
  expires_at: string | null;
  decided_by: string | null;
  /** Whether the caller may approve or deny it. */
  may_decide: boolean;
}

export interface IApprovalList {
  requests: IApprovalRequest[];
  /** Whether the caller's role may approve anyone's requests. */
  may_approve: boolean;
}

export type Decision = 'approve' | 'deny';

/** A failed request: the HTTP status and a sentence for the person reading the sidebar. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What a refused decision means, by the status the server answered with. */
export function decisionError(status: number, serverMessage = ''): string {
  const why: Record<number, string> = {
    403: 'You may not decide this request (it is your own, or your role may not approve)',
    404: 'This request is unknown to the server',
    409: 'This request was already decided or has expired'
  };
  const base = why[status] ?? `The server refused the decision (${status})`;
  return serverMessage && !why[status]
    ? `${base}: ${serverMessage}`
    : `${base}.`;
}

export class GuardApi {
  constructor(
    private readonly baseUrl: string,
    private readonly request: Requester
  ) {}

  summary(user = ''): Promise<ISummary> {
    return this._json<ISummary>('GET', 'summary', { user });
  }

  events(limit: number, user = ''): Promise<{ events: IGuardEvent[] }> {
    return this._json('GET', 'events', { limit: String(limit), user });
  }

  approvals(status: 'pending' | 'mine' | 'all'): Promise<IApprovalList> {
    return this._json<IApprovalList>('GET', 'approvals', { status });
  }

  /** Approve or deny a request; resolves with the updated request. */
  async decide(
    id: string,
    decision: Decision,
    reason = ''
  ): Promise<IApprovalRequest> {
    const body: { decision: Decision; reason?: string } = { decision };
    if (reason.trim()) {
      body.reason = reason.trim();
    }
    try {
      return await this._json<IApprovalRequest>(
        'POST',
        `approvals/${encodeURIComponent(id)}`,
        {},
        body
      );
    } catch (err) {
      if (err instanceof ApiError) {
        const server = err.message.startsWith('HTTP ') ? '' : err.message;
        throw new ApiError(err.status, decisionError(err.status, server));
      }
      throw err;
    }
  }

  /** The URL of an API path with its query (empty values left out). */
  url(path: string, query: Record<string, string> = {}): string {
    const base = this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`;
    const params = new URLSearchParams(
      Object.entries(query).filter(([, v]) => v !== '')
    );
    const search = params.toString();
    return `${base}jupyter-guard/api/${path}${search ? `?${search}` : ''}`;
  }

  private async _json<T>(
    method: 'GET' | 'POST',
    path: string,
    query: Record<string, string> = {},
    body?: unknown
  ): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const response = await this.request(this.url(path, query), init);
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message =
        typeof data?.message === 'string' && data.message ? data.message : '';
      throw new ApiError(response.status, message || `HTTP ${response.status}`);
    }
    return data as T;
  }
}
