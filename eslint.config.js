// Lint: typescript-eslint's recommended rules, plus the project's one hard rule about time:
// every component takes time from the injected Clock (lib/clock.ts) so the sandbox can run faster
// than real time; direct Date.now()/setTimeout/setInterval/new Date() are errors elsewhere.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX, createNodeResolver } from 'eslint-plugin-import-x';

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

// Imports point one way: lib/ is the ground floor (no role, no simulator); a role imports only lib/;
// cmd/ (the command table), bench/, sim/ and test/ sit on top and may import anything. Together with
// no-cycle this keeps the production folders free of simulators and each layer readable on its own.
// Folders that do not exist yet (agent/, cni/) are listed so they start under the rule.
const roles = ['allocator', 'extender', 'webhook', 'certs', 'agent', 'cni'];
const above = ['sim', 'cmd', 'bench', 'test', 'scripts'];
const layerZones = [
  { target: './lib', from: [...roles, ...above].map((d) => `./${d}`), message: 'lib/ is the ground floor: it imports no role, simulator, command or test.' },
  ...roles.map((role) => ({
    target: `./${role}`,
    from: [...roles.filter((r) => r !== role), ...above].map((d) => `./${d}`),
    message: `A role imports only lib/ (and its own folder); move what ${role}/ needs into lib/.`,
  })),
];
const importRules = {
  'import-x/no-restricted-paths': ['error', { basePath: import.meta.dirname, zones: layerZones }],
  'import-x/no-cycle': ['error', { ignoreExternal: true }],
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
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      // The rules parse each imported file to follow its imports; without the TypeScript parser named
      // here they would silently see no imports in .ts files and find no cycle.
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })],
    },
    rules: importRules,
  },
  // Production code makes Kubernetes clients only through lib/kube/clients.ts apiClient(), which
  // bounds every request by a timeout; client-node's own makeApiClient sends without any.
  {
    files: ['lib/**/*.ts', ...roles.map((r) => `${r}/**/*.ts`), 'cmd/**/*.ts'],
    ignores: ['lib/clock.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': ['error', ...timeRules['no-restricted-properties'].slice(1),
        { property: 'makeApiClient', message: 'Use apiClient() from lib/kube/clients.ts: it gives every request a timeout.' }],
    },
  },
  { files: ['lib/clock.ts', '**/*.test.ts', 'test/**', 'scripts/**'], rules: { 'no-restricted-globals': 'off', 'no-restricted-properties': 'off', 'no-restricted-syntax': 'off' } },
);
