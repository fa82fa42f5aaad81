// One Jest run, three kinds of test. Services (PostgreSQL, Redis, libvirtd) are started once for
// the run by libs/testing's global setup and stopped by its teardown.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc, '/node_modules/content-disposition/.+\\.js$': swc },
  // content-disposition 2 (under @fastify/static, for the Swagger UI) ships only ESM; Jest on
  // Node 20 cannot require(esm), so swc compiles that one package to CommonJS.
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/.virtfleet/'],
};

/** @type {import('jest').Config} */
module.exports = {
  ...base, // global setup and teardown are TypeScript too
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.spec.ts'] },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/apps/*/test/**/*.int.spec.ts'], slowTestThreshold: 10 },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/e2e/**/*.e2e.spec.ts'], slowTestThreshold: 60 },
  ],
};
