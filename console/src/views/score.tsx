/** A match's or candidate's score: the total, each factor's value and weight as a small bar, and reasons. */
import { useI18n, tKey } from '../i18n.js';
import { formatNumber } from '../time.js';
import type { ScoreBreakdown } from '../types.js';

const ORDER: (keyof ScoreBreakdown)[] = ['capabilityFit', 'timeFit', 'location', 'loadBalance'];

export function ScoreValue({ score }: { score: number | null | undefined }) {
  const { lang } = useI18n();
  return <span class="score">{formatNumber(score, lang, 3)}</span>;
}

export function BreakdownList({ breakdown }: { breakdown: ScoreBreakdown | null | undefined }) {
  const { t, lang } = useI18n();
  if (!breakdown) return <span class="muted">–</span>;
  return (
    <dl class="breakdown">
      {ORDER.map((k) => {
        const f = breakdown[k];
        const { value, weight } = f;
        return (
          <div class="factor" key={k}>
            <dt>{tKey(t, 'factor', k)}</dt>
            <dd>
              <span class="factor-bar" aria-hidden="true">
                <span style={{ width: `${Math.round((value ?? 0) * 100)}%` }} />
              </span>
              <span class="factor-num">
                {value === null || weight === 0
                  ? // A factor that does not apply (no pilot location) says so, instead of "– × 0".
                    t(k === 'location' ? 'factorNoLocation' : 'factorNotScored')
                  : `${formatNumber(value, lang, 2)} × ${formatNumber(weight, lang, 2)}`}
                {'distanceKm' in f && f.distanceKm !== null
                  ? ` · ${t('factorDistance', { km: formatNumber(f.distanceKm, lang, 1) })}`
                  : ''}
              </span>
            </dd>
          </div>
        );
      })}
    </dl>
  );
}

export function Reasons({ reasons }: { reasons: string[] | undefined }) {
  if (!reasons?.length) return <span class="muted">–</span>;
  return (
    <ul class="reasons">
      {reasons.map((r, i) => (
        <li key={i}>{r}</li>
      ))}
    </ul>
  );
}
