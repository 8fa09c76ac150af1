/** Plan search (pure): order and gaps between stages, coverage without a spare slot, overlap, credits, ranking. */
import assert from 'node:assert/strict';
import { coversWithoutSpare, searchPlans, type PlanSlot, type PlanStage } from '../src/matching/plans.js';

const H = 3_600_000;
const T0 = Date.UTC(2027, 0, 4);
/** A slot starting `h` hours after T0, `len` hours long. */
const slot = (id: string, h: number, len: number, score = 0.5, credits = len): PlanSlot => ({
  slotId: id,
  testbedId: 't',
  start: T0 + h * H,
  end: T0 + (h + len) * H,
  score,
  credits,
});
const ids = (p: { sessions: { slotId: string }[] }) => p.sessions.map((s) => s.slotId);

describe('plan search', () => {
  it('covers the hours without a spare slot', () => {
    assert.equal(coversWithoutSpare(8, [slot('a', 0, 4), slot('b', 10, 4)]), true);
    assert.equal(
      coversWithoutSpare(8, [slot('a', 0, 4), slot('b', 10, 4), slot('c', 20, 4)]),
      false,
      'one slot too many',
    );
    assert.equal(coversWithoutSpare(8, [slot('a', 0, 4)]), false, 'too few hours');
    assert.equal(coversWithoutSpare(8, [slot('a', 0, 6), slot('b', 10, 4)]), true, 'over by less than the shortest');
    assert.equal(coversWithoutSpare(8, [slot('a', 0, 8), slot('b', 10, 1)]), false, 'the 1-hour slot is spare');
    const plans = searchPlans(
      [{ key: 'sim', hours: 8 }],
      new Map([['sim', [slot('a', 0, 4, 0.9), slot('b', 10, 4, 0.8), slot('c', 20, 4, 0.7)]]]),
      null,
      10,
    );
    assert.ok(plans.length > 0);
    for (const p of plans) assert.equal(p.sessions.length, 2, 'never three 4-hour sessions for 8 hours');
    assert.deepEqual(ids(plans[0]!), ['a', 'b'], 'the best-scoring pair first');
  });

  it('puts every session of a later stage after the last session of the earlier one, within the gaps', () => {
    const stages: PlanStage[] = [
      { key: 'sim', hours: 8 },
      { key: 'road', hours: 8, after: { stage: 'sim', minGapHours: 24, maxGapHours: 72 } },
    ];
    const sim = [slot('s1', 0, 4, 0.9), slot('s2', 30, 4, 0.9)];
    // r0 starts before the simulator ends; r1 is inside the gap; r2 within [end+24h, end+72h]; r3 too late.
    const road = [slot('r0', 10, 8, 1), slot('r1', 40, 8, 1), slot('r2', 34 + 30, 8, 0.5), slot('r3', 34 + 100, 8, 1)];
    const plans = searchPlans(
      stages,
      new Map([
        ['sim', sim],
        ['road', road],
      ]),
      null,
      10,
    );
    assert.deepEqual(plans.map(ids), [['s1', 's2', 'r2']]);
    assert.deepEqual(
      plans[0]!.sessions.map((s) => s.stage),
      ['sim', 'sim', 'road'],
      'sessions in start order',
    );
  });

  it('never overlaps two sessions of the pilot, even across stages', () => {
    const stages: PlanStage[] = [
      { key: 'a', hours: 4 },
      { key: 'b', hours: 4 },
    ];
    const plans = searchPlans(
      stages,
      new Map([
        ['a', [slot('x', 0, 4, 1)]],
        ['b', [slot('y', 2, 4, 1), slot('z', 10, 4, 0.1)]],
      ]),
      null,
      10,
    );
    assert.deepEqual(plans.map(ids), [['x', 'z']]);
  });

  it('keeps plans within the credits left', () => {
    const stages: PlanStage[] = [{ key: 'a', hours: 4 }];
    const slots = [slot('dear', 0, 4, 1, 40), slot('cheap', 10, 4, 0.2, 4)];
    assert.deepEqual(searchPlans(stages, new Map([['a', slots]]), 10, 10).map(ids), [['cheap']]);
    assert.deepEqual(searchPlans(stages, new Map([['a', slots]]), null, 10).map(ids), [['dear'], ['cheap']]);
    assert.deepEqual(searchPlans(stages, new Map([['a', slots]]), 3, 10), []);
  });

  it('ranks by the hour-weighted mean score and reports credits', () => {
    const plans = searchPlans(
      [{ key: 'a', hours: 4 }],
      new Map([['a', [slot('lo', 0, 4, 0.3, 7), slot('hi', 10, 4, 0.8, 9)]]]),
      null,
      10,
    );
    assert.deepEqual(
      plans.map((p) => [ids(p)[0], p.score, p.credits]),
      [
        ['hi', 0.8, 9],
        ['lo', 0.3, 7],
      ],
    );
  });

  it('answers nothing when a stage cannot be met', () => {
    assert.deepEqual(searchPlans([{ key: 'a', hours: 12 }], new Map([['a', [slot('x', 0, 4)]]]), null, 5), []);
  });
});
