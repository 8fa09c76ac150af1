import assert from 'node:assert/strict';
import { SCARCE } from '../src/matching/candidates.js';
import {
  WEIGHTS,
  compareScored,
  haversineKm,
  offerOf,
  rankOffers,
  reasonsFor,
  scoreOffer,
  topOffers,
  unsuitability,
  unsuitabilityText,
  type PilotNeeds,
  type SlotOffer,
  type TestbedOffers,
} from '../src/matching/scoring.js';

const H = 3_600_000;
const T0 = new Date('2027-03-01T00:00:00Z');
const t = (hours: number) => new Date(T0.getTime() + hours * H);

const pilot = (over: Partial<PilotNeeds> = {}): PilotNeeds => ({
  domain: 'transport-safety',
  capabilities: ['driving-simulator'],
  units: 1,
  durationHours: 8,
  earliestStart: t(0),
  latestEnd: t(240),
  ...over,
});

let n = 0;
const offer = (over: Partial<SlotOffer> = {}, testbed: Partial<SlotOffer['testbed']> = {}): SlotOffer => ({
  slotId: `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
  testbedId: '00000000-0000-4000-8000-aaaaaaaaaaaa',
  testbedName: 'Simulator',
  start: t(24),
  end: t(32),
  capacity: 2,
  bookedUnits: 0,
  utilization: 0,
  ...over,
  testbed: {
    status: 'active',
    domains: ['transport-safety'],
    capabilities: ['driving-simulator'],
    lat: 35.2293,
    lng: 126.8437,
    ...testbed,
  },
});

describe('scoring: hard filters', () => {
  it('accepts a slot that meets every requirement', () => {
    assert.deepEqual(unsuitability(pilot(), offer()), []);
  });

  const cases: [string, SlotOffer, PilotNeeds, string][] = [
    ['an inactive testbed', offer({}, { status: 'inactive' }), pilot(), 'testbed-inactive'],
    ['another domain', offer({}, { domains: ['health'] }), pilot(), 'domain'],
    ['a missing capability', offer(), pilot({ capabilities: ['driving-simulator', 'v2x'] }), 'capabilities'],
    ['a slot starting before the window', offer({ start: t(-1), end: t(8) }), pilot(), 'window'],
    ['a slot ending after the window', offer({ start: t(235), end: t(243) }), pilot(), 'window'],
    ['a slot shorter than the duration', offer({ start: t(24), end: t(30) }), pilot(), 'duration'],
    ['too few units left', offer({ capacity: 2, bookedUnits: 2 }), pilot(), 'units'],
  ];
  for (const [what, o, p, code] of cases) {
    it(`refuses ${what} (${code}) and says why in both languages`, () => {
      const u = unsuitability(p, o);
      assert.deepEqual(
        u.map((x) => x.code),
        [code],
      );
      assert.match(unsuitabilityText(u[0]!, 'en'), /[a-z]/);
      assert.match(unsuitabilityText(u[0]!, 'ko'), /[가-힣]/);
    });
  }

  it('checks the units asked for, not only the pilot default', () => {
    assert.deepEqual(
      unsuitability(pilot(), offer({ capacity: 3, bookedUnits: 1 }), 3).map((u) => u.code),
      ['units'],
    );
    assert.deepEqual(unsuitability(pilot(), offer({ capacity: 3, bookedUnits: 1 }), 2), []);
  });
});

describe('scoring: factors', () => {
  it('gives a perfect fit at the earliest start on an idle testbed a score of 1 with every factor and weight shown', () => {
    const s = scoreOffer(pilot(), offer({ start: t(0), end: t(8) }), SCARCE);
    assert.equal(s.score, 1);
    assert.equal(s.breakdown.capabilityFit.weight, WEIGHTS.capabilityFit);
    assert.equal(s.breakdown.timeFit.value, 1);
    assert.equal(s.breakdown.location.value, null);
    assert.equal(s.breakdown.location.weight, 0);
    assert.equal(s.breakdown.loadBalance.value, 1);
  });

  it('penalises a scarce capability nobody asked for more than an ordinary one', () => {
    const p = pilot({ capabilities: [], domain: 'transport-safety' });
    const plain = scoreOffer(p, offer({}, { capabilities: ['v2x'] }), SCARCE);
    const scarce = scoreOffer(p, offer({}, { capabilities: ['driving-simulator'] }), SCARCE);
    assert.ok(scarce.breakdown.capabilityFit.value! < plain.breakdown.capabilityFit.value!);
    assert.deepEqual(scarce.breakdown.capabilityFit.unusedScarce, ['driving-simulator']);
    assert.ok(scarce.score < plain.score);
  });

  it('prefers earlier slots, nearer testbeds and less-utilised testbeds', () => {
    const p = pilot({ location: { lat: 35.2293, lng: 126.8437 } });
    const early = scoreOffer(p, offer({ start: t(0), end: t(8) }), SCARCE);
    const late = scoreOffer(p, offer({ start: t(200), end: t(208) }), SCARCE);
    assert.ok(early.score > late.score);
    const near = scoreOffer(p, offer(), SCARCE);
    const far = scoreOffer(p, offer({}, { lat: 37.5665, lng: 126.978 }), SCARCE); // Seoul
    assert.ok(near.breakdown.location.value! > far.breakdown.location.value!);
    assert.ok(far.breakdown.location.distanceKm! > 250);
    const busy = scoreOffer(p, offer({ utilization: 0.9 }), SCARCE);
    assert.ok(near.score > busy.score);
    for (const s of [early, late, near, far, busy]) assert.ok(s.score >= 0 && s.score <= 1);
  });

  it('measures distance on the globe', () => {
    assert.ok(Math.abs(haversineKm({ lat: 35.1595, lng: 126.8526 }, { lat: 37.5665, lng: 126.978 }) - 268) < 5);
  });
});

describe('scoring: ranking', () => {
  it('drops unsuitable offers and orders by score, then start, testbed id and slot id, the same way every time', () => {
    const offers = [
      offer({ slotId: 'b', testbedId: 't2' }),
      offer({ slotId: 'a', testbedId: 't2' }),
      offer({ slotId: 'c', testbedId: 't1' }),
      offer({ slotId: 'd', start: t(0), end: t(8) }),
      offer({ slotId: 'x' }, { domains: ['health'] }),
    ];
    const ranked = rankOffers(pilot(), offers, SCARCE);
    assert.deepEqual(
      ranked.map((r) => r.offer.slotId),
      ['d', 'c', 'a', 'b'],
    );
    const reversed = rankOffers(pilot(), [...offers].reverse(), SCARCE);
    assert.deepEqual(
      reversed.map((r) => r.offer.slotId),
      ranked.map((r) => r.offer.slotId),
    );
    for (let i = 1; i < ranked.length; i++) assert.ok(compareScored(ranked[i - 1]!, ranked[i]!) < 0);
  });

  it('keeps the first k places of the full ranking, scores and breakdowns alike, from offers grouped by testbed', () => {
    // A fixed pseudo-random catalogue with ties everywhere: equal scores and starts across testbeds, unsuitable
    // slots (too short, too long, too few units, outside the window) and unsuitable testbeds among suitable ones.
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
      return (seed >>> 8) % n;
    };
    const hex = (i: number) => i.toString(16).padStart(12, '0');
    for (const needs of [
      pilot(),
      pilot({ location: { lat: 35.2, lng: 126.8 }, capabilities: [] }),
      pilot({ maxSessionHours: 10, units: 2 }),
    ]) {
      const groups: TestbedOffers[] = Array.from({ length: 12 }, (_, g) => ({
        testbedId: `00000000-0000-4000-8000-${hex(rand(4))}${g}`.slice(0, 36),
        testbedName: `Testbed ${g}`,
        testbed: {
          status: rand(10) ? 'active' : 'inactive',
          domains: rand(8) ? ['transport-safety'] : ['health'],
          capabilities: [['driving-simulator'], ['driving-simulator', 'gpu-cluster'], ['driving-simulator', 'v2x']][
            rand(3)
          ]!,
          lat: 35 + rand(3) / 10,
          lng: 126.8,
        },
        utilization: rand(5) / 4,
        slots: Array.from({ length: 10 + rand(50) }, (_, i) => {
          const start = T0.getTime() + (rand(250) - 5) * H;
          return [`10000000-0000-4000-8000-${hex(g * 100 + i)}`, start, start + (6 + rand(6)) * H, 3, rand(4)] as const;
        }),
      }));
      const all = rankOffers(
        needs,
        groups.flatMap((g) => g.slots.map((slot) => offerOf(g, slot))),
        SCARCE,
      );
      assert.ok(all.length > 40, `enough suitable offers to cut (${all.length})`);
      for (const k of [0, 1, 5, 21, all.length + 3]) {
        assert.deepEqual(topOffers(needs, groups, SCARCE, k), all.slice(0, k));
      }
      assert.deepEqual(
        topOffers(needs, groups, SCARCE, 30, 3),
        rankOffers(
          needs,
          all.map((s) => s.offer),
          SCARCE,
          3,
        ).slice(0, 30),
      );
    }
  });

  it('explains a candidate in Korean or English', () => {
    const s = scoreOffer(pilot({ location: { lat: 35.2, lng: 126.8 } }), offer(), SCARCE);
    const en = reasonsFor(s, 'en');
    const ko = reasonsFor(s, 'ko');
    assert.equal(en.length, ko.length);
    assert.ok(en.some((r) => /km/.test(r)));
    assert.ok(ko.every((r) => /[가-힣]/.test(r)));
  });
});
