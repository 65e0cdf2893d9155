import { describe, expect, it } from '@jest/globals';
import { IApprovalRequest } from '../api';
import {
  decidable,
  describeEffect,
  effectiveStatus,
  formatExpiry,
  newestFirst,
  toDecide
} from '../approvals';

const NOW = new Date('2026-01-01T12:30:00Z');

function req(over: Partial<IApprovalRequest> = {}): IApprovalRequest {
  return {
    id: 'r1',
    requester: 'alice',
    code: 'DELETE FROM orders',
    rule: 'bulk-change',
    reason: 'clean up',
    effect: null,
    status: 'pending',
    created_at: '2026-01-01T12:00:00Z',
    expires_at: '2026-01-01T13:00:00Z',
    decided_by: null,
    may_decide: true,
    ...over
  };
}

describe('status', () => {
  it('shows a pending request past its expiry as expired', () => {
    expect(effectiveStatus(req(), NOW)).toBe('pending');
    expect(
      effectiveStatus(req({ expires_at: '2026-01-01T12:29:59Z' }), NOW)
    ).toBe('expired');
    expect(
      effectiveStatus(
        req({ status: 'used', expires_at: '2020-01-01T00:00:00Z' }),
        NOW
      )
    ).toBe('used');
  });
  it('lets the caller decide only pending requests the server says they may decide', () => {
    expect(decidable(req(), NOW)).toBe(true);
    expect(decidable(req({ may_decide: false }), NOW)).toBe(false);
    expect(decidable(req({ status: 'approved' }), NOW)).toBe(false);
    expect(decidable(req({ expires_at: '2026-01-01T12:00:00Z' }), NOW)).toBe(
      false
    );
  });
  it('says when a request expires', () => {
    expect(formatExpiry('2026-01-01T12:30:40Z', NOW)).toBe('expires in 40 s');
    expect(formatExpiry('2026-01-01T13:00:00Z', NOW)).toBe('expires in 30 min');
    expect(formatExpiry('2026-01-02T12:30:00Z', NOW)).toBe('expires in 24 h');
    expect(formatExpiry('2026-01-01T12:00:00Z', NOW)).toBe('expired');
    expect(formatExpiry(null, NOW)).toBe('');
  });
});

describe('lists', () => {
  it('puts the requests to decide oldest first and leaves out the undecidable', () => {
    const pending = [
      req({ id: 'late', created_at: '2026-01-01T12:20:00Z' }),
      req({ id: 'own', may_decide: false }),
      req({ id: 'early', created_at: '2026-01-01T12:10:00Z' }),
      req({ id: 'gone', expires_at: '2026-01-01T12:00:00Z' })
    ];
    expect(toDecide(pending, NOW).map(r => r.id)).toEqual(['early', 'late']);
  });
  it("lists the caller's own requests newest first", () => {
    const mine = [
      req({ id: 'a', created_at: '2026-01-01T10:00:00Z' }),
      req({ id: 'b', created_at: '2026-01-01T11:00:00Z' })
    ];
    expect(newestFirst(mine).map(r => r.id)).toEqual(['b', 'a']);
    expect(mine.map(r => r.id)).toEqual(['a', 'b']);
  });
});

describe('describeEffect', () => {
  it('gives rows, tables, columns with the sensitive marked, and the target', () => {
    expect(
      describeEffect({
        rows: 12375,
        tables: ['customers'],
        columns: ['customers.ssn', 'customers.id'],
        sensitive_columns: ['customers.ssn'],
        target: 'out.csv'
      })
    ).toBe(
      '12,375 rows · table customers · columns customers.ssn (sensitive), customers.id · to out.csv'
    );
  });
  it('says one row, and lists keys it does not know', () => {
    expect(
      describeEffect({ rows: 1, tables: [], columns: [], target: null })
    ).toBe('1 row');
    expect(describeEffect({ bytes: 10, note: '' })).toBe('bytes: 10');
  });
  it('is empty without an effect', () => {
    expect(describeEffect(null)).toBe('');
    expect(describeEffect({})).toBe('');
  });
});
