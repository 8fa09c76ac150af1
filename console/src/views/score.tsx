/** A match's or candidate's score: the total, each factor's value and weight as a small bar, and reasons. */
import { useI18n, tKey } from '../i18n.js';
import { formatNumber } from '../time.js';
import type { Breakdown } from '../types.js';

const ORDER = ['capabilityFit', 'timeFit', 'location', 'loadBalance'];

export function ScoreValue({ score }: { score: number | null | undefined }) {
  const { lang } = useI18n();
  return <span class="score">{formatNumber(score, lang, 3)}</span>;
}

export function BreakdownList({ breakdown }: { breakdown: Breakdown | null | undefined }) {
  const { t, lang } = useI18n();
  if (!breakdown) return <span class="muted">–</span>;
  const keys = [...ORDER.filter((k) => k in breakdown), ...Object.keys(breakdown).filter((k) => !ORDER.includes(k))];
  return (
    <dl class="breakdown">
      {keys.map((k) => {
        const f = breakdown[k];
        if (!f) return null;
        const value = typeof f.value === 'number' ? f.value : null;
        const weight = typeof f.weight === 'number' ? f.weight : 0;
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
                {k === 'location' && typeof f.distanceKm === 'number'
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
