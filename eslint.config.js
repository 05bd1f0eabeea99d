// `npm run lint`: typescript-eslint's type-checked recommended rules over the engine, the stages, the tests, the
// benchmark and the scripts, with the type information of tsconfig.json (the config that type-checks all of them),
// and ESLint's recommended rules over the few JavaScript files.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Build output, installed packages, workspaces and caches the tools write, generated reports.
    ignores: ['dist/', 'node_modules/', '**/.pipeline/', '.pipeline-ci/', 'build/', 'bench/.work/', 'reports/', '.data-home/'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed names mark parameters a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Tests read what the CLI and the stages wrote as JSON (`CliResult.json`, `Workspace.lock()`, `JSON.parse` of
    // artifacts) and check its shape with chai at run time: those values are `any` on purpose, so the rules that
    // track `any` through member access, assignment, arguments, calls and returns stay off here, and only here.
    files: ['tests/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // bin/ is CommonJS (bin/package.json).
    files: ['**/*.cjs', 'bin/*.js'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
