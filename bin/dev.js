#!/usr/bin/env -S node --import tsx
// Runs strata from the TypeScript sources (tsx), for development.
// CommonJS, as bin/run.js (bin/package.json); oclif finds the package from its root.
'use strict'
import('@oclif/core').then(({execute}) => execute({development: true, dir: require('node:path').join(__dirname, '..')}))
