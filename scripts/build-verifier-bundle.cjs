#!/usr/bin/env node
// Builds the auditor page's verifier bundle (src/verifier/browser.ts → dist/web/notary-verifier.js) now,
// whether or not it is stale. Part of `npm run build`; the app also builds it on start when missing or stale.
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..');
require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
const { buildVerifierBundle } = require(path.join(root, 'src', 'api', 'verifier-bundle.ts'));
const { file, bytes } = buildVerifierBundle();
console.log(`verifier bundle: ${path.relative(root, file)} (${bytes} bytes)`);
