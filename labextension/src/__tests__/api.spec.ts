import { describe, expect, it } from '@jest/globals';
import { ApiError, GuardApi, IApprovalRequest } from '../api';

interface ISent {
  url: string;
  init: RequestInit;
}

/** A fake server: answers each request with the next (status, body) and records what was sent. */
function server(...answers: [number, unknown][]) {
  const sent: ISent[] = [];
  const request = async (url: string, init: RequestInit) => {
    sent.push({ url, init });
    const [status, body] = answers.shift() ?? [
      500,
      { message: 'no answer left' }
    ];
    return new Response(JSON.stringify(body), { status });
  };
  return { api: new GuardApi('http://lab/base/', request), sent };
}

function req(over: Partial<IApprovalRequest> = {}): IApprovalRequest {
  return {
    id: 'r1',
    requester: 'alice',
    code: 'DROP TABLE t',
    rule: 'destructive-ddl',
    reason: 'needed',
    effect: null,
    status: 'pending',
    created_at: '2026-01-01T12:00:00Z',
    expires_at: '2026-01-01T13:00:00Z',
    decided_by: null,
    may_decide: true,
    ...over
  };
}

describe('GuardApi', () => {
  it('lists approvals by status under the base URL', async () => {
    const { api, sent } = server([
      200,
      { requests: [req()], may_approve: true }
    ]);
    const list = await api.approvals('pending');
    expect(sent[0].url).toBe(
      'http://lab/base/jupyter-guard/api/approvals?status=pending'
    );
    expect(sent[0].init.method).toBe('GET');
    expect(list.may_approve).toBe(true);
    expect(list.requests.map(r => r.id)).toEqual(['r1']);
  });

  it('leaves out empty query values and keeps the user when given', async () => {
    const { api, sent } = server([200, { events: [] }], [200, { events: [] }]);
    await api.events(100);
    await api.events(5, 'gina');
    expect(sent.map(s => s.url)).toEqual([
      'http://lab/base/jupyter-guard/api/events?limit=100',
      'http://lab/base/jupyter-guard/api/events?limit=5&user=gina'
    ]);
  });

  it('posts a decision as JSON, with the reason only when given', async () => {
    const { api, sent } = server(
      [200, req({ status: 'approved', decided_by: 'gina' })],
      [200, req({ status: 'denied' })]
    );
    const approved = await api.decide(
      'r 1/x',
      'approve',
      '  checked the count '
    );
    expect(approved.status).toBe('approved');
    expect(sent[0].url).toBe(
      'http://lab/base/jupyter-guard/api/approvals/r%201%2Fx'
    );
    expect(sent[0].init.method).toBe('POST');
    expect(JSON.parse(String(sent[0].init.body))).toEqual({
      decision: 'approve',
      reason: 'checked the count'
    });
    await api.decide('r1', 'deny', '   ');
    expect(JSON.parse(String(sent[1].init.body))).toEqual({ decision: 'deny' });
  });

  it.each([
    [403, 'You may not decide this request'],
    [404, 'unknown to the server'],
    [409, 'already decided or has expired']
  ])('explains a refused decision (%p)', async (status, text) => {
    const { api } = server([status, { message: 'whatever the server said' }]);
    const err = await api.decide('r1', 'approve').catch(e => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(status);
    expect(err.message).toContain(text);
  });

  it('keeps the server message for other failures', async () => {
    const { api } = server([500, { message: 'audit file locked' }]);
    const err = await api.decide('r1', 'deny').catch(e => e);
    expect(err.message).toBe(
      'The server refused the decision (500): audit file locked'
    );
  });

  it('fails with the status when a GET fails, even without a JSON body', async () => {
    const sent: string[] = [];
    const api = new GuardApi('http://lab', async url => {
      sent.push(url);
      return new Response('<html>not found</html>', { status: 404 });
    });
    const err = await api.approvals('mine').catch(e => e);
    expect(sent).toEqual([
      'http://lab/jupyter-guard/api/approvals?status=mine'
    ]);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(404);
    expect(err.message).toBe('HTTP 404');
  });
});
