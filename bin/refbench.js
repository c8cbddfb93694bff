#!/usr/bin/env node
// The `refbench` CLI entry point. The engine is TypeScript run through tsx (no build step: a clone works right
// after `npm install`). See docs/decisions.md for why tsx rather than a compile step.
import { register } from 'tsx/esm/api';

// `refbench ... | head` closes stdout early: exit quietly instead of crashing with EPIPE.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
