/**
 * @file `refbench ls`: lists runs under the results root with their status and coverage.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { listRunIds, problemText, RunStore, runsRoot } from '../../lib/server/results/store.ts';

export function register(program: Command): void {
  program
    .command('ls')
    .description('List runs (id, restorer, dataset, ok/error/total, last write).')
    .option('--results-dir <dir>', 'results root', 'results')
    .addHelpText('after', '\nExamples:\n  $ refbench ls\n  $ refbench ls --results-dir /data/results')
    .action((o: { resultsDir: string }) => {
      const ids = listRunIds(o.resultsDir);
      if (!ids.length) {
        process.stdout.write(`no runs under ${runsRoot(o.resultsDir)}\n`);
        return;
      }
      const rows = [['run', 'restorer', 'dataset', 'ok', 'error', 'total', 'last write', 'notes']];
      const warnings: string[] = [];
      for (const id of ids) {
        const store = new RunStore(join(runsRoot(o.resultsDir), id));
        try {
          const run = store.readRunJson();
          const s = store.readSamples();
          let ok = 0;
          let err = 0;
          for (const l of s.latest.values()) l.status === 'ok' ? ok++ : err++;
          const notes = [run.restorer.untrained ? 'UNTRAINED WEIGHTS' : '', s.problems.length ? `${s.problems.length} bad line(s)` : '', ok + err < run.dataset.size ? 'incomplete' : '']
            .filter(Boolean)
            .join(', ');
          rows.push([id, run.restorer.id, run.dataset.id, String(ok), String(err), String(run.dataset.size), store.lastWrite()?.toISOString() ?? '-', notes]);
          for (const p of [...s.problems, ...store.readEval().problems]) warnings.push(`warning: ${problemText(p)} (${p.line !== undefined ? 'line' : 'file'} skipped)`);
        } catch (e) {
          rows.push([id, '?', '?', '', '', '', '', `unreadable: ${(e as Error).message}`]);
        }
      }
      const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd()).join('\n') + '\n');
      for (const m of warnings) process.stderr.write(`${m}\n`);
    });
}
