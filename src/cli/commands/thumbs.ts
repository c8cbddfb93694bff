/**
 * @file `refbench thumbs [runs...]`: makes the dashboard's missing thumbnails (WebP, 256 px, shared by content
 * under `<results>/thumbs/`) for runs made before `run` wrote them, or whose thumbnails were deleted. The
 * dashboard never makes them itself: it only reads (docs/security.md).
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { listRunIds, resolveRunDir, runsRoot } from '../../lib/server/results/store.ts';
import { fillThumbs } from '../../lib/server/results/thumbs-write.ts';
import { thumbsRoot } from '../../lib/server/results/thumbs.ts';

export function register(program: Command): void {
  program
    .command('thumbs')
    .description("Make the dashboard's missing thumbnails of runs (all runs when none is named).")
    .argument('[runs...]', 'run directories or run ids (or unique prefixes); default: every run')
    .option('--results-dir <dir>', 'results root', 'results')
    .addHelpText('after', '\nExamples:\n  $ refbench thumbs\n  $ refbench thumbs demo-lq-0123456789 --results-dir /data/results')
    .action(async (runs: string[], o: { resultsDir: string }) => {
      const root = resolve(o.resultsDir);
      const dirs = runs.length ? runs.map((r) => resolveRunDir(root, r)) : listRunIds(root).map((id) => join(runsRoot(root), id));
      if (!dirs.length) {
        process.stdout.write(`no runs under ${runsRoot(root)}\n`);
        return;
      }
      let failed = false;
      for (const r of await fillThumbs(root, dirs)) {
        process.stdout.write(`${r.runId}: ${r.made} thumbnail(s) made for ${r.samples} sample(s)\n`);
        for (const p of r.problems) process.stderr.write(`warning: ${r.runId}: ${p}\n`);
        if (r.problems.some((p) => p.endsWith('(run skipped)'))) failed = true;
      }
      process.stdout.write(`thumbnails in ${thumbsRoot(root)}\n`);
      if (failed) process.exitCode = 1;
    });
}
