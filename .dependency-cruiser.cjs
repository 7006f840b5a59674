// The layering of DESIGN §1 / CONVENTIONS "Layout shows the architecture", enforced by
// dependency-cruiser (`npm run check:layers`; test/unit/layout.test.ts runs the same rules in the
// unit tier). One tool for both the layer rules and the circular-import check.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle makes load order matter and hides a missing layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'producers-not-workers',
      severity: 'error',
      comment: "The watcher and the workers meet only in Redis and in the sessions' status (DESIGN §1).",
      from: { path: '^producers/' },
      to: { path: '^workers/' },
    },
    {
      name: 'workers-not-producers',
      severity: 'error',
      comment: "The watcher and the workers meet only in Redis and in the sessions' status (DESIGN §1).",
      from: { path: '^workers/' },
      to: { path: '^producers/' },
    },
    {
      name: 'shared-imports-no-role',
      severity: 'error',
      comment: 'shared/ is the contract both sides import; it imports none of them.',
      from: { path: '^shared/' },
      to: { path: '^(producers|workers|devcluster|dashboard|cli)/' },
    },
    {
      name: 'roles-not-cli-or-devcluster',
      severity: 'error',
      comment: 'producers/, workers/ and dashboard/ are libraries the CLI composes; devcluster is a test and demo tool.',
      from: { path: '^(producers|workers|dashboard)/' },
      to: { path: '^(cli|devcluster)/' },
    },
    {
      name: 'product-not-tests',
      severity: 'error',
      comment: 'Nothing that ships (or devcluster) imports test/ or bench/ code.',
      from: { path: '^(cli|shared|producers|workers|dashboard|devcluster)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'production-roles-no-static-devcluster',
      severity: 'error',
      comment: 'The runtime image leaves devcluster/ out: the CLI reaches it only through dynamic imports of the development roles (cli/roles.ts).',
      from: { path: '^cli/', pathNot: '^cli/(demo|devcluster-role)\\.ts$' },
      to: { path: '^devcluster/', dynamic: false },
    },
    {
      name: 'product-no-dev-dependencies',
      severity: 'error',
      comment: 'npm ci --omit=dev drops devDependencies: code that ships must not need one (tsx, typescript …).',
      from: { path: '^(cli|shared|producers|workers|dashboard)/' },
      to: { dependencyTypes: ['npm-dev'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
