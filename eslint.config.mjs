import nx from '@nx/eslint-plugin';
import reactHooks from 'eslint-plugin-react-hooks';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '.virtfleet', 'coverage', '.nx', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // The agent runs on KVM hosts: it never sees the database or the API's code.
            {
              sourceTag: 'scope:agent',
              onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'],
              bannedExternalImports: ['@prisma/*', 'prisma', 'pg', '@nestjs/*'],
            },
            // Tests of the API and the agent use libs/testing; their sources may not (rule below).
            { sourceTag: 'scope:api', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'], bannedExternalImports: ['@prisma/*', '@nestjs/*'] },
            { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
            { sourceTag: 'scope:bench', onlyDependOnLibsWithTags: ['scope:shared', 'scope:testing'] },
            // The web console runs in browsers and talks to the API through the SDK only.
            {
              sourceTag: 'scope:web',
              onlyDependOnLibsWithTags: ['scope:shared'],
              bannedExternalImports: ['@prisma/*', 'prisma', 'pg', '@nestjs/*', 'bullmq', 'ioredis', 'ws', 'fastify', '@fastify/*', 'node:*'],
            },
            // The CLI talks to the API through the SDK only.
            { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:shared'], bannedExternalImports: ['@prisma/*', 'prisma', 'pg', '@nestjs/*', 'bullmq', 'ioredis'] },
          ],
        },
      ],
      // Only libs/exec spawns processes.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'child_process', message: 'spawn through @virtfleet/exec (the one place that runs processes)' },
            { name: 'node:child_process', message: 'spawn through @virtfleet/exec (the one place that runs processes)' },
          ],
        },
      ],
      // process.env is parsed once, in config modules.
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read the environment in config/*.ts (or main.ts) and pass a typed config on' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  { files: ['libs/exec/src/**/*.ts'], rules: { 'no-restricted-imports': 'off' } },
  // The web console: React's rules of hooks (and the React Compiler's checks).
  { files: ['apps/web/src/**/*.{ts,tsx}'], ...reactHooks.configs.flat.recommended },
  {
    files: ['apps/*/src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'child_process', message: 'spawn through @virtfleet/exec (the one place that runs processes)' },
            { name: 'node:child_process', message: 'spawn through @virtfleet/exec (the one place that runs processes)' },
            { name: '@virtfleet/testing', message: 'test fixtures are for tests only' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/config/**/*.ts', '**/main.ts', 'libs/testing/src/**/*.ts', 'e2e/**/*.ts', 'bench/**/*.ts', '**/*.spec.ts', 'prisma.config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
];
