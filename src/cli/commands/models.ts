/**
 * @file `refbench models list | fetch <id> | convert <id> | verify [id]`: the model manifest
 * (models/manifest.json) on the command line. See src/lib/server/models/. `list` and `verify` only read;
 * `fetch` and `convert` are the only writers of weights/lock.json. `verify` also checks ReF-LDM bundles (graph
 * hashes + the zero-reference K/V parity against PyTorch, models/refldm-bundle-check.ts): the converted
 * `weights/refldm-paper` when present, or any bundle given with `--bundle`.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getEntry, loadManifest, type ModelEntry } from '../../lib/server/models/manifest.ts';
import { entryStatus, readLock, verifyEntry, type Lock, type StatusRow } from '../../lib/server/models/lock.ts';
import { fetchEntry } from '../../lib/server/models/fetch.ts';
import { convertEntry } from '../../lib/server/models/convert.ts';
import { modelsRoot } from '../../lib/server/models/paths.ts';
import type { BundleCheck } from '../../lib/server/models/refldm-bundle-check.ts';

const out = (s: string) => process.stdout.write(`${s}\n`);

function printRows(rows: readonly StatusRow[]): void {
  const w = Math.max(...rows.map((r) => r.name.length), 4);
  for (const r of rows) out(`  ${r.kind === 'file' ? 'file  ' : 'output'} ${r.name.padEnd(w)}  ${r.status}${r.detail ? `  ${r.detail}` : ''}`);
}

function printBundle(c: BundleCheck): void {
  out(`ref-ldm bundle ${c.dir} (${c.summary}):`);
  const w = Math.max(...c.rows.map((r) => r.name.length), 4);
  for (const r of c.rows) out(`  ${r.kind === 'file' ? 'file  ' : 'check '} ${r.name.padEnd(w)}  ${r.status}${r.detail ? `  ${r.detail}` : ''}`);
}

/** One model as `models list` shows it. */
interface ModelListing {
  readonly id: string;
  readonly description: string;
  readonly usedBy: readonly string[];
  readonly licence: string;
  /** Every output is there and none is known to mismatch its pin. */
  readonly ready: boolean;
  readonly files: readonly {
    name: string;
    path: string;
    status: string;
    urls: readonly string[];
    /** The expected sha256: published, else pinned at first fetch; null when not pinned yet. */
    sha256: string | null;
    sha256Source: 'published' | 'pinned at first fetch' | 'not pinned yet';
    sha256Prefix?: string;
    size: string;
    manual: boolean;
  }[];
  readonly outputs: readonly { name: string; path: string; status: string; sha256: string | null }[];
  /** The commands that make it ready (empty when ready). */
  readonly next: readonly string[];
}

function listing(e: ModelEntry, lock: Lock, dir: string): ModelListing {
  const rows = entryStatus(e, lock, dir);
  const le = lock.models[e.id];
  const fileRows = rows.filter((r) => r.kind === 'file');
  const outRows = rows.filter((r) => r.kind === 'output');
  const files = e.files.map((f, i) => {
    const pinned = le?.files[f.name]?.pinned;
    return {
      name: f.name,
      path: fileRows[i].path,
      status: fileRows[i].status,
      urls: f.urls,
      sha256: f.sha256 ?? pinned ?? null,
      sha256Source: f.sha256 ? ('published' as const) : pinned ? ('pinned at first fetch' as const) : ('not pinned yet' as const),
      ...(f.sha256Prefix ? { sha256Prefix: f.sha256Prefix } : {}),
      size: f.size,
      manual: !!f.manual,
    };
  });
  const outputs = outRows.map((r) => ({ name: r.name, path: r.path, status: r.status, sha256: le?.outputs[r.name]?.pinned ?? null }));
  const ready = outRows.every((r) => r.status !== 'missing' && r.status !== 'hash mismatch');
  const next: string[] = [];
  if (!ready) {
    const bad = [...fileRows, ...outRows].filter((r) => r.status === 'hash mismatch');
    for (const r of bad) next.push(`delete ${r.path}, then refbench models ${r.kind === 'file' || !e.convert ? 'fetch' : 'convert'} ${e.id}`);
    const missingFiles = files.filter((f) => f.status === 'missing');
    const outputsMissing = outRows.some((r) => r.status === 'missing');
    for (const f of missingFiles.filter((x) => x.manual)) next.push(`download ${f.name} by hand (${f.urls[0]}) to ${f.path}`);
    if (outputsMissing && missingFiles.length) next.push(`refbench models fetch ${e.id}${e.convert ? ` && refbench models convert ${e.id}` : ''}`);
    else if (outputsMissing && e.convert) next.push(`refbench models convert ${e.id}`);
  }
  return { id: e.id, description: e.description, usedBy: e.usedBy, licence: e.licence, ready, files, outputs, next };
}

function printListing(m: ModelListing, wide: boolean): void {
  const short = (sha: string) => (wide ? sha : `${sha.slice(0, 16)}…`);
  out(`${m.id}  [${m.ready ? 'ready' : 'not ready'}]  ${m.description}`);
  out(`  used by ${m.usedBy.join(', ') || '-'}; licence: ${m.licence}`);
  const w = Math.max(...[...m.files, ...m.outputs].map((r) => r.name.length), 4);
  const pad = ' '.repeat(10);
  for (const f of m.files) {
    out(`  file    ${f.name.padEnd(w)}  ${f.status}  (${f.size})${f.manual ? '  [download by hand]' : ''}`);
    out(
      `${pad}sha256 ${f.sha256 ? `${short(f.sha256)} (${f.sha256Source})` : `not pinned yet${f.sha256Prefix ? ` (published prefix ${f.sha256Prefix})` : ''}; fetch pins it`}`,
    );
    const urls = wide ? f.urls : f.urls.slice(0, 1);
    for (const u of urls) out(`${pad}${u}`);
    if (!wide && f.urls.length > 1) out(`${pad}(+${f.urls.length - 1} mirror(s); --wide lists them)`);
  }
  for (const o of m.outputs) out(`  output  ${o.name.padEnd(w)}  ${o.status}${o.sha256 ? `  sha256 ${short(o.sha256)} (recorded at conversion)` : ''}`);
  for (const n of m.next) out(`  next: ${n}`);
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
    .description('List every model: its files (URL, sha256, status), its outputs, whether it is ready, and what to run next')
    .option('--wide', 'full sha256 values and every mirror URL')
    .option('--json', 'machine-readable: one JSON document with every field')
    .action(async (o: { wide?: boolean; json?: boolean }, cmd: Command) => {
      const dir = dirOf(cmd);
      const manifest = await loadManifest(dir);
      const lock = await readLock(dir);
      const all = manifest.models.map((e) => listing(e, lock, dir));
      const ready = all.filter((m) => m.ready);
      if (o.json) {
        out(JSON.stringify({ modelsDir: dir, ready: ready.length, total: all.length, models: all }, null, 1));
        return;
      }
      for (const m of all) {
        printListing(m, !!o.wide);
        out('');
      }
      out(`${ready.length} of ${all.length} model(s) ready${ready.length ? `: ${ready.map((m) => m.id).join(', ')}` : ''}.`);
      const notReady = all.filter((m) => !m.ready);
      if (notReady.length) {
        out('Next (each not-ready model above lists its own steps):');
        for (const m of notReady) out(`  ${m.id}: ${m.next.join('; then ') || 'see its rows above'}`);
      }
      out('"present" = not hashed since it last changed; `refbench models verify [id]` re-hashes (read-only).');
      if (ready.length < all.length) out('Without them, `refbench demo` runs every metric and ReF-LDM on committed random-init test networks.');
    });

  models
    .command('fetch <id>')
    .description('Download the files of a model into <models-dir>/weights/<id>/ (HTTP range resume, sha256 check); pins hashes in weights/lock.json')
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
    .description(
      'Re-hash files and outputs (one model or all) against their pins, writing nothing; exits 1 on a hash mismatch, or when a named model is incomplete. ReF-LDM bundles also get the zero-reference K/V parity check against PyTorch (python/.venv)',
    )
    .option('--bundle <dir>', 'check this ReF-LDM bundle only (graph hashes + zero-reference K/V parity); exits 1 on a mismatch or when the check cannot run')
    .option('--ckpt <file>', 'refldm.ckpt for a checkpoint bundle (default <models-dir>/weights/refldm/refldm.ckpt)')
    .option('--vqgan <file>', 'vqgan.ckpt for a checkpoint bundle (default <models-dir>/weights/refldm/vqgan.ckpt)')
    .option('--python <path>', 'Python interpreter with torch for the parity check (default python/.venv/bin/python)')
    .action(async (id: string | undefined, o: { bundle?: string; ckpt?: string; vqgan?: string; python?: string }, cmd: Command) => {
      const dir = dirOf(cmd);
      const { checkRefldmBundle } = await import('../../lib/server/models/refldm-bundle-check.ts');
      const bundleOpts = { ckpt: o.ckpt, vqgan: o.vqgan, python: o.python, modelsDir: dir };
      if (o.bundle) {
        if (id && id !== 'refldm') throw new Error(`--bundle checks a ReF-LDM bundle; model id '${id}' is not refldm`);
        const c = await checkRefldmBundle(o.bundle, bundleOpts);
        printBundle(c);
        if (!c.ok || c.rows.some((r) => r.status === 'not run')) process.exitCode = 1;
        return;
      }
      const manifest = await loadManifest(dir);
      const lock = await readLock(dir);
      const entries = id ? [getEntry(manifest, id)] : manifest.models;
      let bad = 0;
      for (const e of entries) {
        const rows = await verifyEntry(e, lock, dir, (m) => out(`warning: ${m}`));
        out(`${e.id}:`);
        printRows(rows);
        bad += rows.filter((r) => r.status === 'hash mismatch' || (id && r.status === 'missing')).length;
        // A converted ReF-LDM bundle among the outputs: its graphs and the zero-reference K/V parity.
        for (const output of e.usedBy.includes('ref-ldm') ? e.outputs : []) {
          const bundleJson = join(modelsRoot(dir), output);
          if (!output.endsWith('bundle.json') || !existsSync(bundleJson)) continue;
          const c = await checkRefldmBundle(dirname(bundleJson), bundleOpts);
          printBundle(c);
          if (!c.ok) bad++;
        }
      }
      if (bad) process.exitCode = 1;
    });

  models.addHelpText(
    'after',
    `
Examples:
  refbench models list
  refbench models list --wide
  refbench models fetch lpips-vgg && refbench models convert lpips-vgg
  refbench models verify arcface-r50-webface
  refbench models verify --bundle test/fixtures/refldm-tiny     # graph hashes + zero-reference K/V parity vs PyTorch
  refbench models --models-dir /data/models list --json`,
  );
}
