// Unit tests of the pure helpers and the API client (ts-jest, no browser).
// JupyterLab and Lumino packages ship ES modules: ts-jest compiles them to CommonJS too.
const esModules = ['@jupyterlab', '@lumino'].join('|');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src'],
  testRegex: 'src/__tests__/.*\\.spec\\.ts$',
  transform: {
    '^.+\\.[tj]sx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esModules})/)`],
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json']
};
