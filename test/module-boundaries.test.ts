/**
 * The import rules of .dependency-cruiser.cjs (what `npm run lint` enforces), run through dependency-cruiser's
 * own API with the project's configuration: first on fixtures, to show the cycle rule can fail at all and that
 * type-only imports close no cycle, then on the application itself.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cruise, type ICruiseOptions, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { projectRoot } from '../src/paths.js';

const FIXTURES = 'test/fixtures/cycle';

/** Cycles as readable chains: "a.ts → b.ts → a.ts". */
function cycles(violations: IViolation[]): string[] {
  return violations
    .filter((v) => v.rule.name === 'no-circular')
    .map((v) => [v.from, ...(v.cycle ?? []).map((step) => step.name)].join(' → '));
}

describe('module boundaries (.dependency-cruiser.cjs)', function () {
  this.timeout(60_000);
  let options: ICruiseOptions;

  // Paths in the configuration and in its answers are relative to the project root, where npm test runs.
  before(async () => {
    options = await extractDepcruiseOptions(join(projectRoot, '.dependency-cruiser.cjs'));
  });

  async function violations(paths: string[], overrides: Partial<ICruiseOptions> = {}): Promise<IViolation[]> {
    const tsConfig = extractTSConfig(join(projectRoot, 'tsconfig.test.json'));
    const { output } = await cruise(paths, { ...options, ...overrides, validate: true }, {}, { tsConfig });
    return (output as ICruiseResult).summary.violations;
  }

  describe('on fixtures', () => {
    let found: IViolation[];
    before(async () => {
      // The configuration keeps test/fixtures out of the lint run; this cruise is about them alone.
      found = await violations(['test/fixtures/cycle'], { exclude: { path: '(^|/)generated/' } });
    });

    it('reports two modules that import each other as a no-circular error', () => {
      const circular = found.filter((v) => v.rule.name === 'no-circular');
      assert.ok(circular.length > 0, 'the a ⇄ b cycle is reported');
      assert.ok(circular.every((v) => v.rule.severity === 'error'));
      assert.ok(
        cycles(found).includes(`${FIXTURES}/a.ts → ${FIXTURES}/b.ts → ${FIXTURES}/a.ts`),
        cycles(found).join('\n'),
      );
    });

    it('does not count imports of types only, which are erased when compiled', () => {
      assert.deepEqual(
        cycles(found).filter((c) => /\/[cd]\.ts/.test(c)),
        [],
      );
    });
  });

  describe('on the server, the console, the SDK and axv', () => {
    let found: IViolation[];
    before(async () => {
      found = await violations(['src', 'console/src', 'sdk', 'bin']);
    });

    it('finds no import cycle', () => {
      assert.deepEqual(cycles(found), []);
    });

    it('finds no import that resolves to nothing and no devDependency imported by the server', () => {
      const others = found.filter((v) => v.rule.name !== 'no-circular');
      assert.deepEqual(
        others.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
        [],
      );
    });
  });
});
