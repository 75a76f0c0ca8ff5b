// The benchmark's statistics: the sign test's interval for a median, and mpool against --baseline by round.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { againstBaseline, medianInterval, type Sample, targets } from '../bench/report.js';

describe('bench report', () => {
  it("medianInterval: the sign test's ranks, and null when there are too few values", () => {
    const values = Array.from({ length: 15 }, (_, i) => 15 - i); // 15 … 1, unsorted on purpose
    const ci = medianInterval(values)!;
    // P(Binomial(15, ½) ≤ 3) = 576 / 32768: the 4th value from each end, at 1 - 2 × that.
    assert.deepEqual([ci.low, ci.high], [4, 12]);
    assert.equal(ci.confidence.toFixed(5), (1 - (2 * 576) / 32768).toFixed(5));
    assert.equal(medianInterval([1, 2, 3, 4]), null, '4 values cannot give 90 %');
    assert.deepEqual(medianInterval([5, 1, 3, 2, 4]), { low: 1, high: 5, confidence: 1 - 2 / 32 });
  });

  it('againstBaseline pairs rounds, and says slower, faster or neither only as the interval does', () => {
    const samples: Sample[] = [];
    const add = (scenario: 'tiny' | 'imap' | 'map', contender: string, round: number, ms: number) =>
      samples.push({ round, scenario, contender, ms, peakRssKb: 0, warnings: [] });
    for (let round = 1; round <= 10; round++) {
      // The machine drifts (round × 10 ms) for both alike: the pairs see through it.
      add('tiny', 'mpool', round, 100 + round * 10);
      add('tiny', 'mpool-baseline', round, 90 + round * 10);
      add('imap', 'mpool', round, 80 + round * 10);
      add('imap', 'mpool-baseline', round, 100 + round * 10);
      add('map', 'mpool', round, round % 2 ? 100 : 110);
      add('map', 'mpool-baseline', round, round % 2 ? 110 : 100);
    }
    add('tiny', 'mpool', 11, 50); // no baseline in that round: not a pair
    const lines = againstBaseline(samples, ['tiny', 'imap', 'map'], 'mpool-baseline');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^tiny .* 10 pairs +mpool slower$/);
    assert.match(lines[1]!, /^imap .* 10 pairs +mpool faster$/);
    assert.match(lines[2]!, /^map .* 10 pairs +no difference shown$/);
  });

  it("judges the tiny target on Python's spelling, applyAsync(...).get(), as well as on the promise", () => {
    // The medians the report judges, and the rounds behind them it counts.
    const medians: Record<string, number> = { mpool: 100, 'mpool-get': 120, poolifier: 330 };
    const perRound: Record<string, number[]> = {
      mpool: [100, 100],
      'mpool-get': [100, 120],
      poolifier: [330, 330],
    };
    const rounds = (c: string) => new Map((perRound[c] ?? []).map((ms, i) => [i + 1, ms]));
    const tiny = targets(
      (scenario, c) => (scenario === 'tiny' ? (medians[c] ?? null) : null),
      true,
      (_, c) => rounds(c),
    ).filter((t) => t.scenario === 'tiny' && t.what.includes('3×'));
    assert.deepEqual(
      tiny.map((t) => [t.what, t.verdict]),
      [
        ["mpool's rate ≥ 3× poolifier's", 'PASS'],
        ["through .get(): mpool's rate ≥ 3× poolifier's", 'FAIL'],
      ],
    );
    // 330 ÷ 120 = 2.75×: a fail on the medians, though one round of the two held (330 ÷ 100).
    assert.match(tiny[1]!.detail, /2\.75×; held in 1 of 2 rounds$/);
  });
});
