#!/usr/bin/env node
// Builds the verifier as a standalone npm package — src/verifier + src/domain (what they import, nothing else)
// compiled to CommonJS with .d.ts types — with its own package.json whose dependencies are exactly the packages
// the compiled code requires (versions from this repository's package.json), plus docs/formats.md.
//
// Usage: node scripts/build-verifier-package.cjs [--out DIR]   (default dist/verifier-package)
// Then: cd DIR && npm pack   (or npm publish)
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { builtinModules } = require('node:module');
const ts = require('typescript');

const root = path.resolve(__dirname, '..');
const NAME = '@ledger-notary/verifier';
const ENTRIES = ['src/verifier/index.ts', 'src/domain/index.ts'];
// Only these folders may end up in the package: anything else reachable from the entries is a layering error.
const ALLOWED = ['verifier', 'domain'];

function fail(message) {
  console.error(`build-verifier-package: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
let out = path.join(root, 'dist', 'verifier-package');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--out' && args[i + 1]) out = path.resolve(args[++i]);
  else fail(`unknown argument ${args[i]} (usage: --out DIR)`);
}

// 1. compile
const lib = path.join(out, 'lib');
fs.rmSync(out, { recursive: true, force: true });
const options = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
  types: ['node'],
  strict: true,
  esModuleInterop: true,
  skipLibCheck: true,
  declaration: true,
  sourceMap: false,
  rootDir: path.join(root, 'src'),
  outDir: lib,
};
const program = ts.createProgram(
  ENTRIES.map((e) => path.join(root, e)),
  options,
);
const emitted = [];
const result = program.emit(undefined, (file, text) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  emitted.push(file);
});
const diagnostics = ts.getPreEmitDiagnostics(program).concat(result.diagnostics);
if (diagnostics.length) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  fail(`TypeScript errors:\n${ts.formatDiagnostics(diagnostics, host)}`);
}
for (const f of emitted) {
  const top = path.relative(lib, f).split(path.sep)[0];
  if (!ALLOWED.includes(top)) fail(`${path.relative(root, f)} is outside src/verifier and src/domain`);
}

// 2. the dependencies the compiled code really requires
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const builtins = new Set(builtinModules);
const used = new Set();
for (const f of emitted.filter((x) => x.endsWith('.js'))) {
  for (const m of fs.readFileSync(f, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
    const spec = m[1];
    if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec.split('/')[0])) continue;
    const parts = spec.split('/');
    used.add(spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
}
const dependencies = {};
for (const dep of [...used].sort()) {
  const version = rootPkg.dependencies?.[dep];
  if (!version) fail(`the verifier requires ${dep}, which is not a dependency of ${rootPkg.name}`);
  dependencies[dep] = version;
}

// 3. package.json, README, the formats
const pkg = {
  name: NAME,
  version: rootPkg.version,
  description:
    'Independent verifier of Ledger Notary receipts (RFC 8785 digest, commitment, OpenZeppelin Merkle proof, on-chain anchor).',
  license: rootPkg.license,
  engines: rootPkg.engines,
  main: './lib/verifier/index.js',
  types: './lib/verifier/index.d.ts',
  exports: {
    '.': { types: './lib/verifier/index.d.ts', default: './lib/verifier/index.js' },
    './domain': { types: './lib/domain/index.d.ts', default: './lib/domain/index.js' },
    './package.json': './package.json',
  },
  typesVersions: { '*': { domain: ['./lib/domain/index.d.ts'] } },
  files: ['lib', 'formats.md', 'README.md'],
  sideEffects: false,
  dependencies,
};
fs.writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
fs.copyFileSync(path.join(root, 'docs', 'formats.md'), path.join(out, 'formats.md'));
fs.writeFileSync(
  path.join(out, 'README.md'),
  `# ${NAME}

Verifies Ledger Notary receipts without trusting the service: the same code the service, its CLI and its auditor
page run (src/verifier and src/domain of the Ledger Notary repository). The formats are in formats.md.

\`\`\`js
const { verifyReceipt, ChainRootSource } = require('${NAME}');
const verdict = await verifyReceipt(receipt, {
  payload, // optional: the original document, to check its digest
  rootSource: new ChainRootSource({ rpcUrl: 'https://…' }, { trustedRegistries: ['0x…'] }),
});
// verdict.valid, verdict.checks: schema, digest, commitment, merkle, anchor, organisation, submitter, timestamp
\`\`\`

\`require('${NAME}/domain')\` gives the primitives: canonicalize, digestPayload, computeCommitment,
buildMerkleTree, verifyProof, assertReceipt.
`,
);
console.log(
  `${NAME}@${pkg.version}: ${path.relative(root, out) || out} (${emitted.length} files; dependencies: ${
    Object.keys(dependencies).join(', ') || 'none'
  })`,
);
