/**
 * @file `refbench models list | fetch <id> | convert <id> | verify [id]`: the model manifest
 * (models/manifest.json) on the command line. See src/lib/server/models/.
 */
import type { Command } from 'commander';
import { getEntry, loadManifest } from '../../lib/server/models/manifest.ts';
import { entryStatus, readLock, verifyEntry, writeLock, type StatusRow } from '../../lib/server/models/lock.ts';
import { fetchEntry } from '../../lib/server/models/fetch.ts';
import { convertEntry } from '../../lib/server/models/convert.ts';

const out = (s: string) => process.stdout.write(`${s}\n`);

function printRows(rows: readonly StatusRow[]): void {
  const w = Math.max(...rows.map((r) => r.name.length), 4);
  for (const r of rows) out(`  ${r.kind === 'file' ? 'file  ' : 'output'} ${r.name.padEnd(w)}  ${r.status}${r.detail ? `  ${r.detail}` : ''}`);
}

/** Registers `models` and its subcommands. */
export function register(program: Command): void {
  const models = program
    .command('models')
    .description('Model and statistics files: status, download (resumable, sha256-checked), conversion to ONNX, verification')
    .option('--models-dir <dir>', 'models root holding manifest.json and weights/', 'models');

  const dirOf = (cmd: Command): string => (cmd.parent?.opts() as { modelsDir: string }).modelsDir;

  models
    .command('list')
    .description('List every model with the status of its files and outputs (missing / present / verified / hash mismatch)')
    .action(async (_o, cmd: Command) => {
      const dir = dirOf(cmd);
      const manifest = await loadManifest(dir);
      const lock = await readLock(dir);
      for (const e of manifest.models) {
        out(`${e.id}: ${e.description}`);
        out(`  used by ${e.usedBy.join(', ') || '-'}; licence: ${e.licence}`);
        printRows(entryStatus(e, lock, dir));
      }
      out('\n"present" = not hashed since it changed; run `refbench models verify [id]` to re-hash.');
    });

  models
    .command('fetch <id>')
    .description('Download the files of a model into <models-dir>/weights/<id>/ (HTTP range resume, sha256 check)')
    .action(async (id: string, _o, cmd: Command) => {
      const dir = dirOf(cmd);
      const entry = getEntry(await loadManifest(dir), id);
      await fetchEntry(entry, { modelsDir: dir, log: out });
      out(entry.convert ? `next: refbench models convert ${id}` : `done; ${id} is used as-is (run refbench models convert ${id} to record its hash)`);
    });

  models
    .command('convert <id>')
    .description("Run the model's converter (python/.venv) and record the sha256 of its outputs in weights/lock.json")
    .action(async (id: string, _o, cmd: Command) => {
      const dir = dirOf(cmd);
      await convertEntry(getEntry(await loadManifest(dir), id), { modelsDir: dir, log: out });
    });

  models
    .command('verify [id]')
    .description('Re-hash files and outputs (one model or all); exits 1 on a hash mismatch, or when a named model is incomplete')
    .action(async (id: string | undefined, _o, cmd: Command) => {
      const dir = dirOf(cmd);
      const manifest = await loadManifest(dir);
      const lock = await readLock(dir);
      const entries = id ? [getEntry(manifest, id)] : manifest.models;
      let bad = 0;
      for (const e of entries) {
        const rows = await verifyEntry(e, lock, dir, (m) => out(`warning: ${m}`));
        out(`${e.id}:`);
        printRows(rows);
        bad += rows.filter((r) => r.status === 'hash mismatch' || (id && r.status === 'missing')).length;
      }
      await writeLock(lock, dir);
      if (bad) process.exitCode = 1;
    });

  models.addHelpText(
    'after',
    `
Examples:
  refbench models list
  refbench models fetch lpips-vgg && refbench models convert lpips-vgg
  refbench models verify arcface-r50-webface
  refbench models --models-dir /data/models list`,
  );
}
