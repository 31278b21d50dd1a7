// ESLint for src/, test/, bench/ and the config files: typescript-eslint's recommended rules, the
// type-aware rules that catch a promise nobody awaits or one passed where a callback's result is
// ignored, and one import order. `npm run lint` fails on any warning (.ci/run runs it before the tests).
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'charts/**', 'loadtest/**', '.tools/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'import-x/order': ['error', { groups: ['builtin', 'external', 'internal', 'parent', 'sibling', 'index'], alphabetize: { order: 'asc', caseInsensitive: true } }],
      'import-x/first': 'error',
      'import-x/no-duplicates': 'error',
    },
  },
  {
    // The chart's tests read rendered manifests of every kind (Deployments, Jobs, PodMonitors ...) by
    // deep paths; a model per kind would be a second copy of the Kubernetes API for no check gained.
    files: ['test/chart/**', 'test/e2e/chart/**', 'test/e2e/chart-*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
