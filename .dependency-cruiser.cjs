// The layers of src/ (see README, Layout). Run by `npm run check:deps` in CI.
// Leaves: problems.ts (the Problem type and its factories), json-limits.ts (the
// JSON depth and size scan), config.ts (settings read from the environment) and
// generated/ (types from the contract).
const LEAVES = '^src/(problems|config|json-limits)[.]ts$|^src/generated/';
// Composition roots: the only modules that see every domain.
const ROOTS = '^src/(app|server|main)[.]ts$|^src/background/index[.]ts$|^src/cli/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'A module may not reach itself through its imports.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'http-imports-no-domain',
      comment: 'http/ is plumbing: it imports only db/, auth/, observability/ and the leaves, never a domain or a root.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/', pathNot: `^src/(http|db|auth|observability)/|${LEAVES}` },
    },
    {
      name: 'db-imports-only-leaves',
      comment: 'db/ imports only db/, auth/ and the leaves.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: '^src/', pathNot: `^src/(db|auth)/|${LEAVES}` },
    },
    {
      name: 'auth-imports-only-leaves',
      comment: 'auth/ imports only auth/, db/ and the leaves.',
      severity: 'error',
      from: { path: '^src/auth/' },
      to: { path: '^src/', pathNot: `^src/(auth|db)/|${LEAVES}` },
    },
    {
      name: 'observability-imports-only-leaves',
      comment: 'observability/ (the logger, the metric definitions) is used by every layer, so it imports only the leaves.',
      severity: 'error',
      from: { path: '^src/observability/' },
      to: { path: '^src/', pathNot: `^src/observability/|${LEAVES}` },
    },
    {
      name: 'leaves-import-nothing-of-ours',
      comment: 'The leaves import nothing of ours but generated types.',
      severity: 'error',
      from: { path: LEAVES },
      to: { path: '^src/', pathNot: '^src/generated/' },
    },
    {
      name: 'only-roots-import-roots',
      comment: 'Domains and plumbing never import a composition root.',
      severity: 'error',
      from: { path: '^src/', pathNot: ROOTS },
      to: { path: ROOTS },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
