/**
 * @file `refbench fid stats <folder> --out F.npz|json` (reference statistics, clean-fid `make_custom_stats`) and
 * `refbench fid compare <a> <b>` (FID between two folders or statistics files).
 */
import { readdir } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Command } from 'commander';
import { frechetDistance } from '../../lib/eval/metrics/functional/frechet-distance.ts';
import type { GaussianStats } from '../../lib/eval/metrics/functional/frechet-distance.ts';
import { readRgb } from '../../lib/server/image/io.ts';
import { createFid } from '../../lib/server/metrics/fid.ts';
import { readGaussianStats, writeGaussianStats } from '../../lib/server/metrics/fid-stats.ts';
import type { FidMode } from '../../lib/server/metrics/fid-preprocess.ts';

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff']);

/** Image files under `dir`, recursively, sorted (pyiqa `scandir_images` order). */
async function listImages(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && IMAGE_EXT.has(extname(e.name).toLowerCase())) out.push(join(e.parentPath ?? dir, e.name));
  }
  if (!out.length) throw new Error(`${dir}: no images found`);
  return out.sort();
}

interface FidCliOptions {
  mode: FidMode;
  model?: string;
  modelsDir?: string;
  batch: string;
  threads?: string;
}

async function folderStats(dir: string, o: FidCliOptions): Promise<GaussianStats> {
  const files = await listImages(dir);
  const fid = await createFid({ mode: o.mode, modelPath: o.model, modelsDir: o.modelsDir, batchSize: Number(o.batch), threads: o.threads ? Number(o.threads) : undefined });
  let state = fid.init();
  const bs = Number(o.batch);
  for (let i = 0; i < files.length; i += bs) {
    const batch = files.slice(i, i + bs);
    const items = await Promise.all(batch.map(async (f) => ({ sampleId: f, pred: await readRgb(f) })));
    state = await fid.update(state, items);
    process.stderr.write(`\r${dir}: ${Math.min(i + bs, files.length)}/${files.length} images`);
  }
  process.stderr.write('\n');
  const s = fid.statsOf(state);
  await fid.dispose?.();
  return s;
}

/** A folder of images or a statistics file (.npz / .json). */
async function statsOf(src: string, o: FidCliOptions): Promise<GaussianStats> {
  return /\.(npz|json)$/.test(src) ? readGaussianStats(src) : folderStats(src, o);
}

function common(cmd: Command): Command {
  return cmd
    .option('--mode <mode>', "preprocessing: 'clean' (PIL bicubic float, clean-fid/pyiqa) or 'legacy-pytorch'", 'clean')
    .option('--model <onnx>', 'FID-Inception ONNX (default: <models-dir>/weights/fid-inception/fid-inception.onnx)')
    .option('--models-dir <dir>', 'models root (default ./models)')
    .option('--batch <n>', 'images per ONNX run', '8')
    .option('--threads <n>', 'onnxruntime intra-op threads');
}

/** Registers `refbench fid`. */
export function register(program: Command): void {
  const fid = program.command('fid').description('FID reference statistics and folder-vs-folder FID (clean-fid conventions)');
  common(fid.command('stats <folder>'))
    .description('compute mu/sigma (float64) of a folder of images and save them as .npz (numpy-readable) or .json')
    .requiredOption('--out <file>', 'output .npz or .json; name it {dataset}_{mode}_{split}_{res}.npz, e.g. ffhq_clean_trainval70k_512.npz')
    .addHelpText('after', '\nExamples:\n  refbench fid stats data/ffhq512 --out ffhq_clean_trainval70k_512.npz\n  refbench fid stats results/runs/demo-0123456789/outputs --mode legacy-pytorch --out demo_legacy_pytorch_custom_na.npz\n')
    .action(async (folder: string, o: FidCliOptions & { out: string }) => {
      const s = await statsOf(folder, o);
      await writeGaussianStats(o.out, s, { mode: o.mode });
      process.stdout.write(`wrote ${o.out}: ${s.n} images, ${s.dim}-d\n`);
    });
  common(fid.command('compare <a> <b>'))
    .description('FID between two image folders and/or statistics files (.npz with mu/sigma, or .json)')
    .addHelpText('after', '\nExamples:\n  refbench fid compare results/runs/demo-0123456789/outputs models/weights/ffhq-512-fid-stats/ffhq_clean_trainval70k_512.npz\n  refbench fid compare a.npz b.npz\n')
    .action(async (a: string, b: string, o: FidCliOptions) => {
      const sa = await statsOf(a, o);
      const sb = await statsOf(b, o);
      process.stdout.write(`${frechetDistance(sa, sb).toFixed(4)}\n`);
    });
}
