import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', '**/*.mjs', '**/*.mts', 'test/generated/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // The dependency rules of src/ (README, "Code layout"): each block says what a folder may not import.
  ...layerRules([
    {
      files: ['src/common/**/*.ts'],
      forbidden: ['auth', 'users', 'social-associations', 'audit', 'health', 'cli', 'openapi', 'database', 'test'],
      why: 'common/ knows no feature, no database and no OpenAPI document: they depend on it, not the reverse',
    },
    {
      files: ['src/config/**/*.ts'],
      forbidden: ['auth', 'users', 'social-associations', 'audit', 'health', 'cli', 'openapi', 'database', 'test'],
      why: 'config/ is read first and by everyone: it depends on nothing of ours but common/',
    },
    {
      files: ['src/openapi/**/*.ts'],
      forbidden: ['auth', 'users', 'social-associations', 'audit', 'health', 'cli', 'database', 'test'],
      why: 'openapi/ holds shared document pieces; each feature describes its own routes',
    },
    {
      files: ['src/database/**/*.ts'],
      // Entities are registered with the data source, so those (only) are allowed.
      forbidden: ['auth', 'users', 'social-associations', 'audit', 'health', 'cli', 'openapi', 'test'],
      except: '\\.entity$',
      why: 'database/ knows the features only by their entities',
    },
    {
      files: ['src/**/*.ts'],
      ignores: ['src/cli/**', 'src/common/**', 'src/config/**', 'src/openapi/**', 'src/database/**'],
      forbidden: ['cli', 'test'],
      why: 'the operator CLI is an entry point and test/ is the tests: nothing in src/ depends on them',
    },
  ]),
  prettier,
);

/**
 * One `no-restricted-imports` block per rule: an import of `<folder>/...` (a
 * relative path climbing to src/ or the project root) from the rule's files is an
 * error. ESLint keeps one options object per rule and file, so the blocks' files
 * must not overlap: the last block ignores the folders the others cover.
 */
function layerRules(rules) {
  return rules.map((rule) => {
    const folders = rule.forbidden.join('|');
    const tail = rule.except ? `/(?!.*${rule.except})` : '(/|$)';
    return {
      files: rule.files,
      // Tests (specs included) may reach anything they test.
      ignores: ['src/**/*.spec.ts', ...(rule.ignores ?? [])],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [{ regex: `^(\\.\\./)+(${folders})${tail}`, message: `${rule.why}.` }],
          },
        ],
      },
    };
  });
}
