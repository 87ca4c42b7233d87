// @ts-check
// One lint config for the whole workspace (docs/style.md §13): type-checked typescript-eslint rules,
// no floating promises, no import cycles, a pure domain (§2) and no service importing another.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The services of the workspace, read from `services/` so that a new service is covered as soon
 * as its directory exists. The package name comes from its package.json (`@crdr/<dir>` if none).
 */
const services = readdirSync(join(root, 'services'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => {
    let name = `@crdr/${entry.name}`;
    try {
      const manifest = JSON.parse(
        readFileSync(join(root, 'services', entry.name, 'package.json'), 'utf8'),
      );
      if (typeof manifest.name === 'string') name = manifest.name;
    } catch {
      // No package.json yet: the naming convention stands in for it.
    }
    return { dir: entry.name, name };
  });

/** What `services/*\/src/domain/**` may not import: the domain is pure (docs/style.md §2). */
const domainForbidden = {
  group: [
    'node:*',
    '@grpc/*',
    'nats',
    'nats/*',
    '@nats-io/*',
    'kysely',
    'kysely/*',
    'pg',
    'pg/*',
    '@opentelemetry/*',
    '@crdr/telemetry',
    '@crdr/telemetry/*',
    '@crdr/store',
    '@crdr/store/*',
  ],
  message:
    'The domain is pure (docs/style.md §2): no node:*, gRPC, NATS, kysely, pg or telemetry; an adapter does the I/O.',
};
/** Node built-ins by their bare names (`fs`, `crypto`...), which `node:*` does not catch. */
const domainForbiddenBuiltins = builtinModules
  .filter((name) => !name.startsWith('_'))
  .map((name) => ({
    name,
    message: 'The domain is pure (docs/style.md §2): no Node built-ins; an adapter does the I/O.',
  }));

/** `@crdr/<other service>` for every service but `self`. */
const otherServicesForbidden = (self) => {
  const others = services.filter((service) => service.dir !== self.dir);
  return others.length === 0
    ? []
    : [
        {
          group: others.flatMap((service) => [service.name, `${service.name}/*`]),
          message:
            'A service never imports another service: share code through packages/ and talk over gRPC.',
        },
      ];
};

export default defineConfig(
  {
    ignores: [
      '**/node_modules/',
      '**/dist/',
      'packages/proto/src/generated/',
      '.stack/',
      'coverage/',
      'test-results/',
      '.bench/',
    ],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },

  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      parserOptions: {
        // The project service finds the root tsconfig.json, which includes every source file.
        projectService: true,
        tsconfigRootDir: root,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'],
      // Workspace packages are ours: follow them for cycles, while skipping third-party code.
      'import-x/internal-regex': '^@crdr/',
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts', '.cts'] },
      // NodeNext sources import `./x.js` for `./x.ts`; workspace packages export `./src/index.ts`.
      'import-x/resolver-next': [
        createNodeResolver({
          extensions: ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json', '.node'],
          extensionAlias: {
            '.js': ['.ts', '.js'],
            '.mjs': ['.mts', '.mjs'],
            '.cjs': ['.cts', '.cjs'],
          },
          conditionNames: ['types', 'import', 'node', 'default'],
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      // Resolved paths catch relative imports across services (`../../other/src/...`) too.
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: root,
          zones: services.map((service) => ({
            target: `./services/${service.dir}`,
            from: './services',
            except: [`./${service.dir}`],
            message: 'A service never imports another service: share code through packages/.',
          })),
        },
      ],
    },
  },

  // A service never imports another service by package name.
  ...services.map((service) => ({
    files: [`services/${service.dir}/**/*.{ts,mts,cts,js,mjs}`],
    rules: {
      'no-restricted-imports': ['error', { patterns: otherServicesForbidden(service) }],
    },
  })),
  // ...and its domain imports no I/O. Rule options do not merge, so this repeats the above.
  ...services.map((service) => ({
    files: [`services/${service.dir}/src/domain/**/*.{ts,mts,cts}`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: domainForbiddenBuiltins,
          patterns: [domainForbidden, ...otherServicesForbidden(service)],
        },
      ],
    },
  })),

  // Tests may be looser about types, never about promises.
  {
    files: ['**/*.test.ts', '**/*.test-helper.ts', 'test/**/*.ts', '**/bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-empty-function': 'off',
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },

  // Plain JavaScript (this file, scripts/*.mjs) is outside the tsconfig: lint it untyped.
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      parserOptions: { projectService: false },
      // Node's own globals, as this Node defines them (process, Buffer, URL, fetch...).
      globals: Object.fromEntries(
        Object.getOwnPropertyNames(globalThis).map((name) => [name, 'readonly']),
      ),
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
);
