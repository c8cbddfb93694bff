/**
 * @file The `ref-ldm` restorer: parses the options (common.ts) and hands them to the engine they name, `onnx`
 * (default; onnx-engine.ts: a bundle's graphs through onnxruntime) or `torch` (torch-engine.ts: python/refbench_model
 * in a long-lived PyTorch worker). Both engines share the options, inputs, x_T, quantisation and record format
 * (common.ts, engine-restorer.ts). Each engine is imported only when chosen, so an onnx run never loads the worker
 * code and the engines never import this module.
 *
 * @example
 *   const r = await createRefLdm({ config: 'tiny', steps: 10 });
 *   const out = await r.restore({ sampleId: 'a', lq, refs: [ref0, ref1] });
 *   out.image.width; // 512
 */
import type { Restorer } from '../../../eval/restorers/restorer.ts';
import { parseRefLdmOptions } from './common.ts';

/** Creates the `ref-ldm` restorer (loads every model up front; `modelLoadMs` is reported separately). */
export async function createRefLdm(options: Readonly<Record<string, unknown>>): Promise<Restorer> {
  const o = parseRefLdmOptions(options);
  if (o.engine === 'torch') return (await import('./torch-engine.ts')).createTorchRefLdm(o);
  return (await import('./onnx-engine.ts')).createOnnxRefLdm(o);
}
