// ESLint's flat config: `npm run lint` runs it over the whole tree with type information.
// TypeScript (src, test, bench: tsconfig.json; web/src and web/vite.config.ts: web/tsconfig.json) gets
// typescript-eslint's type-checked rules, which catch floating promises and `any` leaking into typed code;
// the plain-JS scripts get ESLint's recommended rules without type information (no tsconfig covers them).
// Layout is Prettier's (`.prettierrc.json`); the only layout rule here is the 120-column limit, which
// Prettier cannot keep for long strings and comments.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The Node globals the plain-JS scripts use (TypeScript checks names in .ts files itself).
const nodeGlobals = Object.fromEntries(
  ['process', 'console', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'].map((name) => [
    name,
    'readonly',
  ]),
);

export default defineConfig(
  {
    ignores: ['dist/', 'web/dist/', 'node_modules/', 'docs/', 'templates/', 'test/fixtures/'],
  },
  js.configs.recommended,
  {
    // Lines up to 120 columns (Prettier's printWidth), with three exceptions: URLs; lines with a regular
    // expression literal, which cannot be split without becoming a RegExp built from strings (harder to read
    // than one long line); and the line that opens a test (`it('...', ...)`), whose title stays whole so a
    // failing test's name can be searched for, and whose body Prettier would re-indent if the title were split.
    // Long messages are split into concatenated strings.
    rules: {
      'max-len': [
        'error',
        {
          code: 120,
          ignoreUrls: true,
          ignoreRegExpLiterals: true,
          ignorePattern: '^\\s*(it|test|describe)(\\.\\w+)?\\(',
        },
      ],
      // A `let` read by a callback before its one assignment stays a `let` (the callback may run first).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it: the root one or web/tsconfig.json.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // An unhandled rejection crashes the process: every promise is awaited, returned, `.catch`ed, or
      // marked `void` where fire-and-forget is the intent (and the `void`'s comment says why).
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite', 'before', 'after'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unsafe-argument': 'error',
      '@typescript-eslint/no-unsafe-assignment': 'error',
      '@typescript-eslint/no-unsafe-call': 'error',
      '@typescript-eslint/no-unsafe-member-access': 'error',
      '@typescript-eslint/no-unsafe-return': 'error',
      // Off: an `async` method without `await` is how a synchronous implementation keeps a Promise-returning
      // seam's contract (the SQLite store, the platform, fastify hooks, test doubles), a throw included.
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed names are the ones kept unused on purpose (a position in a signature, a discarded field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    // The Kubernetes platform and its fake cluster handle Kubernetes objects as JSON (`Record<string, any>`),
    // as the API server sends them, and print their fields with String(); typing them with
    // @kubernetes/client-node's models is the way to lift this.
    files: ['src/platform/kube/**/*.ts', 'test/kube/**/*.ts'],
    rules: {
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: nodeGlobals },
  },
);
