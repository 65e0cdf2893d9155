import { describe, expect, it } from '@jest/globals';
import { IGuardEvent } from '../format';
import {
  find,
  focusNames,
  focusSpans,
  highlight,
  RefusalLog,
  refusalOf,
  refused
} from '../refusals';

const DETAILS = {
  schema: 'jupyter_guard.refusal',
  version: 1,
  decision: 'block',
  rule_id: 'exfiltration',
  reason: 'exports sensitive column(s) c.ssn to out.csv',
  statement: "COPY (SELECT id, ssn FROM c) TO 'out.csv'",
  effect: {
    rows: null,
    tables: ['c'],
    columns: ['c.ssn'],
    sensitive_columns: ['c.ssn']
  },
  rewrite: {
    kind: 'drop-sensitive-columns',
    sql: "COPY (SELECT id FROM c) TO 'out.csv'",
    hint: 'export the same rows without the sensitive columns',
    count_sql: null
  }
};

function errorMsg(content: unknown) {
  return { header: { msg_type: 'error' }, content };
}

function ev(over: Partial<IGuardEvent>): IGuardEvent {
  return {
    event_id: 'e',
    ts: null,
    user_name: 'alice',
    notebook: null,
    cell_id: null,
    execution_count: 3,
    kind: 'sql',
    code: "%%guarded_sql\nSELECT 1;\nCOPY (SELECT id,\n  ssn FROM c) TO 'out.csv'",
    decision: 'block',
    rule_id: 'exfiltration',
    reason: DETAILS.reason,
    status: 'blocked',
    ...over
  };
}

describe('refusalOf', () => {
  it('reads the refusal of an error message', () => {
    const r = refusalOf(
      errorMsg({ ename: 'GuardBlocked', jupyter_guard: DETAILS })
    );
    expect(r?.rule_id).toBe('exfiltration');
    expect(r?.statement).toBe(DETAILS.statement);
    expect(r?.rewrite?.sql).toBe("COPY (SELECT id FROM c) TO 'out.csv'");
  });
  it.each([
    [
      'another message type',
      { header: { msg_type: 'stream' }, content: { jupyter_guard: DETAILS } }
    ],
    ['an error without a refusal', errorMsg({ ename: 'ValueError' })],
    [
      'another schema',
      errorMsg({ jupyter_guard: { ...DETAILS, schema: 'x' } })
    ],
    ['no rule', errorMsg({ jupyter_guard: { ...DETAILS, rule_id: 7 } })],
    ['no content', { header: { msg_type: 'error' } }]
  ])('ignores %s', (_, msg) => {
    expect(refusalOf(msg)).toBeNull();
  });
});

describe('highlight', () => {
  it('marks the statement across other white space and case', () => {
    const code =
      "%%guarded_sql\nSELECT 1;\ncopy (SELECT id,\n  ssn FROM c) TO 'out.csv'";
    const parts = highlight(code, DETAILS.statement);
    expect(parts.filter(p => p.mark).map(p => p.text)).toEqual([
      "copy (SELECT id,\n  ssn FROM c) TO 'out.csv'"
    ]);
    expect(parts.map(p => p.text).join('')).toBe(code);
  });
  it('treats the statement as text, not as a pattern', () => {
    expect(find('SELECT a+b FROM t', 'a+b')).toEqual([7, 10]);
    expect(find('SELECT aab FROM t', 'a+b')).toBeNull();
  });
  it('marks nothing when the statement is not in the code', () => {
    expect(highlight('DROP TABLE u', 'DROP TABLE t')).toEqual([
      { text: 'DROP TABLE u', mark: false }
    ]);
    expect(highlight('DROP TABLE u', null)).toEqual([
      { text: 'DROP TABLE u', mark: false }
    ]);
    expect(highlight('', 'x')).toEqual([]);
  });
});

describe('focus', () => {
  const r = refusalOf(errorMsg({ jupyter_guard: DETAILS }))!;
  it('points at the sensitive columns inside the statement, as whole words', () => {
    expect(focusNames(r)).toEqual(['ssn']);
    const code =
      "SELECT 1;\nCOPY (SELECT id, ssn, ssn_note FROM c) TO 'out.csv'";
    const parts = highlight(
      code,
      "COPY (SELECT id, ssn, ssn_note FROM c) TO 'out.csv'",
      ['ssn']
    );
    expect(parts.filter(p => p.focus).map(p => p.text)).toEqual(['ssn']);
    expect(
      parts
        .filter(p => p.mark)
        .map(p => p.text)
        .join('')
    ).toBe("COPY (SELECT id, ssn, ssn_note FROM c) TO 'out.csv'");
    expect(parts.map(p => p.text).join('')).toBe(code);
  });
  it('points at the dropped table, or the WHERE of a bulk change', () => {
    const drop = {
      ...r,
      rule_id: 'destructive-ddl',
      effect: { target: 'main.t' }
    };
    expect(focusNames(drop)).toEqual(['t']);
    expect(focusSpans('DROP TABLE t', ['t'])).toEqual([[11, 12]]);
    expect(focusSpans('DELETE FROM t WHERE 1 = 1', [], 'bulk-change')).toEqual([
      [14, 25]
    ]);
    expect(focusSpans('DELETE FROM t', [], 'bulk-change')).toEqual([]);
    expect(
      focusNames({ ...r, rule_id: 'exfiltration', effect: { target: 'x.csv' } })
    ).toEqual([]);
    expect(focusNames(null)).toEqual([]);
  });
  it('never marks outside the statement', () => {
    const parts = highlight('SELECT ssn;\nDROP TABLE t', 'DROP TABLE t', [
      'ssn'
    ]);
    expect(parts.filter(p => p.focus)).toEqual([]);
    expect(parts[0]).toEqual({ text: 'SELECT ssn;\n', mark: false });
  });
});

describe('RefusalLog', () => {
  it('finds the refusal of an event by rule and statement, newest first', () => {
    const log = new RefusalLog();
    const r = refusalOf(errorMsg({ jupyter_guard: DETAILS }))!;
    log.add(r);
    log.add({ ...r, rule_id: 'bulk-change', statement: 'DELETE FROM c' });
    expect(log.forEvent(ev({}))).toBe(r);
    expect(log.forEvent(ev({ code: 'COPY c TO x' }))).toBeNull();
    expect(log.forEvent(ev({ rule_id: 'destructive-ddl' }))).toBeNull();
    expect(log.forEvent(ev({ rule_id: null }))).toBeNull();
  });
  it("prefers an event's own refusal", () => {
    const own = {
      ...refusalOf(errorMsg({ jupyter_guard: DETAILS }))!,
      statement: 'SELECT 1'
    };
    expect(new RefusalLog().forEvent(ev({ refusal: own }))).toBe(own);
  });
  it('matches by reason when a refusal names no statement', () => {
    const log = new RefusalLog();
    log.add({
      ...refusalOf(errorMsg({ jupyter_guard: DETAILS }))!,
      statement: null
    });
    expect(log.forEvent(ev({}))).not.toBeNull();
    expect(log.forEvent(ev({ reason: 'other' }))).toBeNull();
  });
  it('keeps only the latest refusals', () => {
    const log = new RefusalLog();
    const r = refusalOf(errorMsg({ jupyter_guard: DETAILS }))!;
    for (let n = 0; n < 60; n++) {
      log.add({ ...r, reason: String(n) });
    }
    expect(log.items.length).toBe(50);
    expect(log.items[0].reason).toBe('59');
  });
  it('shows code only for refused events', () => {
    expect(refused(ev({}))).toBe(true);
    expect(refused(ev({ decision: 'approval', status: 'running' }))).toBe(true);
    expect(refused(ev({ decision: 'allow', status: 'ok' }))).toBe(false);
    expect(refused(ev({ decision: 'allow', status: 'blocked' }))).toBe(false);
  });
});
