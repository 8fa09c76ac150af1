/**
 * A pilot's plan as the queue shows it: its stages (what each needs, in which order, with which gaps) and its
 * credit budget. Read from the pilot as the API returns it: `requirements.stages` (normalised, a first-release
 * pilot is the one stage `main`) and `budget` (null: not limited).
 */
import { capabilityLabel, useCatalog } from '../catalog.js';
import { useI18n, tKey, type Lang, type Translate } from '../i18n.js';
import { formatNumber } from '../time.js';
import type { Pilot, PilotBudget, PilotStage } from '../types.js';

const h = (n: number, lang: Lang) => formatNumber(n, lang, 1);

/** Session length bounds in words: "sessions 4–8 h", "sessions ≥ 4 h", or nothing. */
function sessionText(s: PilotStage, t: Translate, lang: Lang): string | null {
  const { min, max } = s.sessionHours ?? {};
  // A first-release requirement: one session at least as long as all its hours.
  if (min === s.hours && max === undefined) return t('stageOneSession');
  if (min !== undefined && max !== undefined) {
    return min === max
      ? t('stageSessionExact', { n: h(min, lang) })
      : t('stageSessionRange', { min: h(min, lang), max: h(max, lang) });
  }
  if (min !== undefined) return t('stageSessionMin', { min: h(min, lang) });
  if (max !== undefined) return t('stageSessionMax', { max: h(max, lang) });
  return null;
}

/** The order rule in words: "after sim, gap 12–48 h" (minGapHours defaults to 0, maxGapHours to no limit). */
function afterText(s: PilotStage, t: Translate, lang: Lang): string | null {
  if (!s.after) return null;
  const { stage, minGapHours = 0, maxGapHours } = s.after;
  if (maxGapHours !== undefined) {
    return minGapHours > 0
      ? t('stageAfterRange', { stage, min: h(minGapHours, lang), max: h(maxGapHours, lang) })
      : t('stageAfterWithin', { stage, max: h(maxGapHours, lang) });
  }
  return minGapHours > 0 ? t('stageAfterMin', { stage, min: h(minGapHours, lang) }) : t('stageAfter', { stage });
}

/** Requirements: one line per stage (key, capabilities, hours, session lengths, units) and its order rule. */
export function StageList({ pilot }: { pilot: Pilot }) {
  const { t, lang } = useI18n();
  const catalog = useCatalog();
  const stages = pilot.requirements.stages;
  const single = stages.length === 1 && !stages[0]!.after;
  return (
    <ol class={single ? 'stages stages-single' : 'stages'} aria-label={t('stagesLabel', { n: stages.length })}>
      {stages.map((s) => {
        const facts = [
          t('hours', { n: h(s.hours, lang) }),
          sessionText(s, t, lang),
          t('units', { n: s.units }),
          s.location?.address ?? null,
        ].filter((x): x is string => Boolean(x));
        const after = afterText(s, t, lang);
        return (
          <li key={s.key} class="stage" data-stage={s.key}>
            {single ? null : <strong class="stage-key">{s.key}</strong>}
            <ul class="tags">
              {s.capabilities.map((c) => (
                <li key={c} class="tag">
                  {capabilityLabel(catalog, c, lang)}
                </li>
              ))}
            </ul>
            <span class="cell-sub">{facts.join(' · ')}</span>
            {after ? <span class="cell-sub stage-after">↳ {after}</span> : null}
          </li>
        );
      })}
    </ol>
  );
}

/** Credits: remaining of the budget, with committed (spent) and the funding line; or "not limited". */
export function BudgetCell({ budget }: { budget: PilotBudget | null }) {
  const { t, lang } = useI18n();
  if (!budget) return <span class="muted">{t('budgetNone')}</span>;
  const used = budget.credits > 0 ? Math.min(1, budget.committed / budget.credits) : 1;
  const n = (v: number) => formatNumber(v, lang, 0);
  return (
    <div class="budget" data-remaining={budget.remaining}>
      <span class="budget-remaining">
        {t('budgetRemaining', { remaining: n(budget.remaining), credits: n(budget.credits) })}
      </span>
      <span class="budget-meter" aria-hidden="true">
        <span style={{ width: `${Math.round(used * 100)}%` }} />
      </span>
      <span class="cell-sub">{t('budgetSpent', { n: n(budget.committed) })}</span>
      {budget.fundingLine ? <span class="cell-sub">{tKey(t, 'funding', budget.fundingLine)}</span> : null}
    </div>
  );
}
