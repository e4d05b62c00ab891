// Lint: typescript-eslint's recommended rules, plus the project's one hard rule about time:
// every component takes time from the injected Clock (lib/clock.ts) so the sandbox can run faster
// than real time; direct Date.now()/setTimeout/setInterval/new Date() are errors elsewhere.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const timeRules = {
  'no-restricted-globals': ['error',
    { name: 'setTimeout', message: 'Use the injected Clock (lib/clock.ts).' },
    { name: 'setInterval', message: 'Use the injected Clock (lib/clock.ts).' },
  ],
  'no-restricted-properties': ['error',
    { object: 'Date', property: 'now', message: 'Use the injected Clock (lib/clock.ts).' },
  ],
  'no-restricted-syntax': ['error', {
    selector: "NewExpression[callee.name='Date'][arguments.length=0]",
    message: 'Use the injected Clock (lib/clock.ts): new Date(clock.now()).',
  }],
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'reports/**', 'tmp/**', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      ...timeRules,
    },
  },
  { files: ['lib/clock.ts', '**/*.test.ts', 'test/**', 'scripts/**'], rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off', 'no-restricted-syntax': 'off' } },
);
