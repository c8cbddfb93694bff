/**
 * @file `flpips-vgg`: ReF-LDM's face-region LPIPS (docs/protocol.md §5.3; the released eval.py has it commented out).
 * The prediction and the ground truth (u8) are both multiplied by the GT's face mask (outside → 0), then plain
 * LPIPS-VGG v0.1 runs on the masked pair. The mask comes from `item.mask` or from a per-sample semantic label
 * map in `maskDir` (`<sampleId>.npy` int label map, or `<sampleId>.png` greyscale label map), with the
 * CelebAMask-HQ face classes [2,4,5,10,11,12,13,6,7,8,9,15] unless `faceClasses` says otherwise.
 *
 * NOTE: the face parser behind ReF-LDM's maps is unknown; labels must follow the CelebAMask-HQ order. Report
 * which parser made the maps next to the number.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metric, MetricItem, PerSampleState } from '../../eval/metrics/metric.ts';
import { perSampleMetric } from '../../eval/metrics/metric.ts';
import { applyMask, FLPIPS_FACE_CLASSES, maskFromLabels } from '../../eval/metrics/functional/lpips.ts';
import { readRgb } from '../image/io.ts';
import type { MetricFactoryOptions } from './index.ts';
import { loadLpipsModel, lpipsPairs, lpipsSpec, prepare512, type LpipsOptions } from './lpips.ts';
import { FlpipsOptionsSchema } from './options.ts';
import { parseOptions } from '../../eval/spec/run-spec.ts';

/** fLPIPS options. */
export interface FlpipsOptions extends LpipsOptions {
  /** Folder of per-sample label maps (`<sampleId>.npy` or `.png`); required unless every item carries `mask`. */
  readonly maskDir?: string;
  /** Label values counted as face (default: docs/protocol.md §5.3 `face`). */
  readonly faceClasses?: readonly number[];
}

/** A decoded label map. */
export interface LabelMap {
  readonly width: number;
  readonly height: number;
  readonly labels: Int32Array;
}

const NPY_DTYPES: Record<string, (dv: DataView, o: number) => number> = {
  '|u1': (d, o) => d.getUint8(o),
  '|i1': (d, o) => d.getInt8(o),
  '<u2': (d, o) => d.getUint16(o, true),
  '<i2': (d, o) => d.getInt16(o, true),
  '<u4': (d, o) => d.getUint32(o, true),
  '<i4': (d, o) => d.getInt32(o, true),
  '<i8': (d, o) => Number(d.getBigInt64(o, true)),
  '<u8': (d, o) => Number(d.getBigUint64(o, true)),
};

/**
 * Parses a NumPy `.npy` integer label map of shape (H, W) or (1, H, W), C order.
 * @throws Error naming `what` and the unsupported field.
 */
export function parseNpyLabels(buf: Uint8Array, what: string): LabelMap {
  const magic = String.fromCharCode(...buf.subarray(0, 6));
  if (magic !== '\x93NUMPY') throw new Error(`${what}: not a .npy file`);
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(buf.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  const fortran = /'fortran_order':\s*True/.test(header);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const read = NPY_DTYPES[descr];
  if (!read) throw new Error(`${what}: unsupported dtype '${descr}' (need an integer label map)`);
  if (fortran) throw new Error(`${what}: fortran_order arrays are not supported`);
  const dims = shape.length === 3 && shape[0] === 1 ? shape.slice(1) : shape;
  if (dims.length !== 2) throw new Error(`${what}: shape (${shape.join(', ')}) is not (H, W)`);
  const [height, width] = dims;
  const size = Number(descr.slice(2));
  const start = hstart + hlen;
  if (buf.length < start + height * width * size) throw new Error(`${what}: truncated data`);
  const labels = new Int32Array(height * width);
  for (let i = 0; i < labels.length; i++) labels[i] = read(dv, start + i * size);
  return { width, height, labels };
}

/**
 * Reads `<maskDir>/<sampleId>.npy` or `.png` (greyscale label values).
 * @throws Error naming every path tried when none exists, or a colour (palette) PNG.
 */
export async function readLabelMap(maskDir: string, sampleId: string): Promise<LabelMap> {
  const stem = sampleId.replace(/\.(png|jpe?g|webp)$/i, '');
  const tried = [join(maskDir, `${stem}.npy`), join(maskDir, `${stem}.png`)];
  const found = tried.find((p) => existsSync(p));
  if (!found) throw new Error(`flpips-vgg: no face-parsing label map for sample '${sampleId}' (tried ${tried.join(', ')})`);
  if (found.endsWith('.npy')) return parseNpyLabels(new Uint8Array(await readFile(found)), found);
  const img = await readRgb(found);
  const labels = new Int32Array(img.width * img.height);
  for (let p = 0, s = 0; p < labels.length; p++, s += 3) {
    const v = img.data[s];
    if (img.data[s + 1] !== v || img.data[s + 2] !== v) throw new Error(`${found}: a colour/palette PNG is not a label map; save the labels as a greyscale (mode L) PNG or .npy`);
    labels[p] = v;
  }
  return { width: img.width, height: img.height, labels };
}

/** Creates `flpips-vgg`. */
export async function createFlpips(options: MetricFactoryOptions = {}): Promise<Metric<PerSampleState>> {
  const id = 'flpips-vgg';
  const opts: FlpipsOptions = parseOptions(FlpipsOptionsSchema, options, { file: `metric '${id}'`, path: ['options'] });
  const classes = opts.faceClasses ?? FLPIPS_FACE_CLASSES;
  if (!Array.isArray(classes) || !classes.every((c) => Number.isInteger(c))) throw new Error(`${id}: option faceClasses must be an array of integers`);
  const model = await loadLpipsModel('vgg', opts, id);
  const base = lpipsSpec('vgg', opts.weights ?? (opts.onnx ? 'test-random-init' : 'real'), id,
    `fLPIPS: LPIPS-VGG v0.1 on u8 images masked by the GT's face classes [${classes.join(',')}] (ReF-LDM Table 7)`);
  const spec = opts.resize === 'none' ? base : { ...base, input: {} };
  return perSampleMetric(
    spec,
    async (items: readonly MetricItem[]) => {
      const preds = [];
      const gts = [];
      for (const it of items) {
        const pred = prepare512(it.pred, opts.resize!, `${id}: sample '${it.sampleId}' prediction`);
        const gt = prepare512(it.gt!, opts.resize!, `${id}: sample '${it.sampleId}' ground truth`);
        let mask = it.mask;
        if (!mask) {
          if (!opts.maskDir) throw new Error(`${id}: sample '${it.sampleId}' has no mask and option maskDir is not set`);
          const lm = await readLabelMap(opts.maskDir, it.sampleId);
          if (lm.width !== gt.width || lm.height !== gt.height) {
            throw new Error(`${id}: label map of sample '${it.sampleId}' is ${lm.width}×${lm.height}, the image ${gt.width}×${gt.height}`);
          }
          mask = maskFromLabels(lm.labels, classes);
        }
        preds.push(applyMask(pred, mask, `${id}: sample '${it.sampleId}' mask`));
        gts.push(applyMask(gt, mask, `${id}: sample '${it.sampleId}' mask`));
      }
      return lpipsPairs(model, preds, gts, items.map((it) => it.sampleId), opts.batchPairs);
    },
    { dispose: () => model.session.release(), weightFiles: model.files },
  );
}
