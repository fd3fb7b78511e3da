#!/usr/bin/env -S node --import tsx
// Runs strata from the TypeScript sources (tsx), for development.
import {execute} from '@oclif/core'
await execute({development: true, dir: import.meta.url})
