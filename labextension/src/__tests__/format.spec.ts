import { describe, expect, it } from '@jest/globals';
import {
  badgeText,
  filterEvents,
  formatCell,
  formatTime,
  IGuardEvent
} from '../format';

function ev(over: Partial<IGuardEvent>): IGuardEvent {
  return {
    event_id: 'e',
    ts: '2026-01-01T12:06:00Z',
    user_name: 'alice',
    notebook: 'demo.ipynb',
    cell_id: 'abcdef0123',
    execution_count: null,
    kind: 'sql',
    code: 'SELECT 1',
    decision: 'allow',
    rule_id: '',
    reason: '',
    status: 'ok',
    ...over
  };
}

const EVENTS = [
  ev({
    event_id: '1',
    decision: 'block',
    rule_id: 'destructive-ddl',
    reason: 'DROP TABLE t'
  }),
  ev({ event_id: '2', decision: 'allow' }),
  ev({
    event_id: '3',
    decision: 'mask',
    rule_id: 'sensitive-data',
    code: 'SELECT email'
  })
];

describe('filterEvents', () => {
  it.each([
    ['', '', ['1', '2', '3']],
    ['block', '', ['1']],
    ['', 'EMAIL', ['3']],
    ['', 'drop', ['1']],
    ['allow', 'drop', []]
  ])('decision=%p text=%p', (decision, text, ids) => {
    expect(
      filterEvents(EVENTS, { decision, text }).map(e => e.event_id)
    ).toEqual(ids);
  });
});

describe('formatting', () => {
  it('shows the time alone for today and the date otherwise', () => {
    const t = new Date('2026-01-01T12:06:03Z');
    expect(formatTime(t.toISOString(), t)).toMatch(/^\d\d:\d\d:\d\d$/);
    expect(
      formatTime(t.toISOString(), new Date('2026-03-01T00:00:00Z'))
    ).toMatch(/^2026-01-0\d \d\d:\d\d$/);
    expect(formatTime(null)).toBe('');
  });
  it('names the cell by execution count, else by id', () => {
    expect(formatCell(ev({ execution_count: 3 }))).toBe('[3]');
    expect(formatCell(ev({}))).toBe('abcdef01');
  });
  it('caps the badge', () => {
    expect([0, 4, 120].map(badgeText)).toEqual(['', '4', '99+']);
  });
});
