import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'migrations/', 'openapi/', '.brevet/', 'coverage/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
    },
  },
  {
    // The domain is pure: rules and decisions, no I/O (STYLE.md, "the dependency rule").
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/db/**', '**/adapters/**', '**/http/**', '**/jobs/**'], message: 'domain/ stays free of I/O.' },
            { group: ['fastify', 'bullmq', 'ioredis', 'pg', 'drizzle-orm', 'drizzle-orm/*', '@aws-sdk/*', '@slack/*'], message: 'domain/ stays free of I/O.' },
          ],
        },
      ],
    },
  },
  {
    // The SQL twins of domain rules (e.g. request-access.sql.ts) build drizzle conditions over the
    // schema so that lists answer exactly as the pure rule beside them; they still do no I/O.
    files: ['src/domain/**/*.sql.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/db/client*', '**/db/migrate*', '**/adapters/**', '**/http/**', '**/jobs/**'], message: 'domain/ stays free of I/O.' },
            { group: ['fastify', 'bullmq', 'ioredis', 'pg', 'drizzle-orm/*', '@aws-sdk/*', '@slack/*'], message: 'domain/ stays free of I/O.' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.ts', 'bench/**/*.ts', 'src/db/migrate-cli.ts'],
    rules: { 'no-console': 'off' },
  },
);
