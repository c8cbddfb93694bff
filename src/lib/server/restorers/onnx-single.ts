/**
 * @file `onnx-single`: one-pass ONNX face restorers (CodeFormer, GFPGAN, RestoreFormer exports...). The whole
 * pipeline is `resize to the model size (PIL bicubic) → range/channel order → one run → range back → resize back`.
 * References are ignored (these models take none); extra scalar inputs (CodeFormer's fidelity weight `w`) are
 * named in the options.
 *
 * @example
 *   const r = await createOnnxSingle({ model: 'models/codeformer.onnx', inputSize: 512, range: 'minus-one-one',
 *     extraInputs: { w: { value: 0.5, dtype: 'float64' } } });
 */
import { parseOptions } from '../../eval/spec/run-spec.ts';
import type { Restorer } from '../../eval/restorers/restorer.ts';
import type { RgbImage } from '../../eval/types.ts';
import { resizeRgbPil } from '../../eval/image/pil-resize.ts';
import { createSession, runSession, Tensor, type Feeds } from '../ort/session.ts';
import { weightFile } from '../models/weights.ts';
import { OnnxSingleOptionsSchema } from './options.ts';

export { OnnxSingleOptionsSchema };

/** Creates the restorer; the session is loaded once here. */
export async function createOnnxSingle(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseOptions(OnnxSingleOptionsSchema, options, { path: ['restorer', 'options'] });
  const modelFile = await weightFile(o.model, 'model');
  const t0 = performance.now();
  const session = await createSession(o.model, { device: o.device, threads: o.threads });
  const loadMs = performance.now() - t0;
  const inputName = o.inputName ?? session.inputNames[0];
  const outputName = o.outputName ?? session.outputNames[0];
  if (!session.inputNames.includes(inputName)) throw new Error(`${o.model}: no input '${inputName}' (inputs: ${session.inputNames.join(', ')})`);
  const extras: Feeds = {};
  for (const [name, spec] of Object.entries(o.extraInputs)) {
    const s = typeof spec === 'number' ? { value: spec, dtype: 'float32' as const, shape: [] as number[] } : spec;
    const size = s.shape.reduce((a, b) => a * b, 1);
    const data =
      s.dtype === 'float32' ? new Float32Array(size).fill(s.value)
      : s.dtype === 'float64' ? new Float64Array(size).fill(s.value)
      : s.dtype === 'int64' ? new BigInt64Array(size).fill(BigInt(Math.trunc(s.value)))
      : new Uint8Array(size).fill(s.value ? 1 : 0);
    extras[name] = new Tensor(s.dtype, data, s.shape);
  }
  const S = o.inputSize;
  const outRange = o.outputRange ?? o.range;

  return {
    info: {
      id: 'onnx-single',
      version: '1',
      weights: { kind: 'checkpoint', files: [{ name: o.model, sha256: modelFile.sha256 }] },
      settings: { ...o, modelLoadMs: Math.round(loadMs * 100) / 100 },
    },
    weightFiles: [modelFile],
    async restore(input) {
      const tStart = performance.now();
      const img = input.lq.width === S && input.lq.height === S ? input.lq : resizeRgbPil(input.lq, S, S);
      const plane = S * S;
      const x = new Float32Array(3 * plane);
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < 3; c++) {
          const v = img.data[i * 3 + (o.channels === 'bgr' ? 2 - c : c)] / 255;
          x[c * plane + i] = o.range === 'minus-one-one' ? v * 2 - 1 : v;
        }
      }
      const tRun = performance.now();
      const out = await runSession(session, { ...extras, [inputName]: new Tensor('float32', x, [1, 3, S, S]) }, [outputName]);
      const runMs = performance.now() - tRun;
      const y = out[outputName];
      const [, oc, oh, ow] = y.dims;
      if (y.dims.length !== 4 || oc !== 3) throw new Error(`${input.sampleId}: ${o.model} output '${outputName}' has dims [${y.dims.join(',')}], expected [1,3,H,W]`);
      const yd = y.data as Float32Array;
      const op = oh * ow;
      let bad = 0;
      for (let i = 0; i < 3 * op; i++) if (!Number.isFinite(yd[i])) bad++;
      if (bad) throw new Error(`${input.sampleId}: ${o.model} output '${outputName}' holds ${bad} non-finite value(s) (NaN/±Inf)`);
      const data = new Uint8Array(3 * op);
      for (let i = 0; i < op; i++) {
        for (let c = 0; c < 3; c++) {
          let v = yd[(o.channels === 'bgr' ? 2 - c : c) * op + i];
          if (outRange === 'minus-one-one') v = (v + 1) / 2;
          v = Math.min(1, Math.max(0, v)) * 255;
          data[i * 3 + c] = o.quantise === 'round' ? Math.round(v) : Math.trunc(v);
        }
      }
      let image: RgbImage = { width: ow, height: oh, data };
      if (ow !== input.lq.width || oh !== input.lq.height) image = resizeRgbPil(image, input.lq.width, input.lq.height);
      return { image, timings: { run: runMs, total: performance.now() - tStart }, info: { refsUsed: 0, modelLoadMs: loadMs } };
    },
    async dispose() {
      await session.release();
    },
  };
}
