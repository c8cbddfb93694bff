#!/usr/bin/env node
// The `refbench` CLI entry point. The engine is TypeScript run through tsx (no build step: a clone works right
// after `npm install`). See docs/decisions.md for why tsx rather than a compile step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
