// ESLint with typescript-eslint's type-aware rules, over every TypeScript file of the tree: the
// packages and services (their own tsconfig.json), the chat page (services/gateway/web), and the
// tests, benchmarks and examples (the root tsconfig.json). `npm run lint`; .ci/run runs it first.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.tap/**', 'uploads/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.json', './packages/*/tsconfig.json', './services/*/tsconfig.json', './services/gateway/web/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Fastify's plugins, hooks and handlers are async by contract (the promise is how Fastify knows
      // they are done), with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // `const { field: _field, ...rest } = x` drops a field: the underscore says so.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Kysely's expression builder is destructured by design (its documentation does it): its methods do not use `this`.
    files: ['packages/db/src/**/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    files: ['**/test/**/*.ts', 'bench/**/*.ts', 'packages/testkit/src/**/*.ts'],
    rules: {
      // tap runs a file's top-level t.test() calls in order without their promises being awaited.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafePromises: [{ from: 'package', package: '@tapjs/core', name: 'PromiseWithSubtest' }] },
      ],
      // Tests read responses and frames as the JSON they are, and the assertions on them are the check.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
);
