// ESLint flat config. TypeScript files are linted with type information from the same tsconfig files that
// `npm run typecheck` compiles; plain JavaScript (the axv launcher, the build stamp, configs) without it.
// Formatting is Prettier's business (.prettierrc); unused locals and parameters are the compiler's
// (noUnusedLocals, noUnusedParameters), so ESLint keeps to what neither of them sees.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      'dist/',
      'console/dist/',
      '**/generated/',
      'data/',
      'uploads/',
      'test/artifacts/',
      'test/fixtures/',
      'bench/profiles/',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
    rules: {
      // Same convention as the compiler: a leading underscore marks a parameter that must stay.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      // `catch {}` with a comment saying why the error does not matter is the house style.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Control characters in a pattern are how names and logs get cleaned of them here, never an accident.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json', './console/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A promise nobody awaits loses its rejection: Express 5 forwards rejected handlers, nothing else does.
      '@typescript-eslint/no-floating-promises': 'error',
      // Event-handler attributes (onClick={async () => ...}) are left out: the console's handlers catch and show
      // their own failures. Callbacks, returns and spreads are still checked.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
    },
  },
  {
    files: ['console/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Not part of any tsconfig: linted without type information.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs', 'console/vite.config.ts', 'scripts/*.d.mts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
