/**
 * @file `engine: onnx` of the `ref-ldm` restorer (the default): a bundle's ONNX graphs run through onnxruntime by
 * sampler.ts. Weights provenance comes from bundle.json: random-init weights make `info.weights.kind =
 * 'random-init'`, so the run is labelled untrained everywhere downstream.
 */
import { join } from 'node:path';
import type { RestorerInfo } from '../../../eval/restorers/restorer.ts';
import type { WeightFileRecord } from '../../../eval/types.ts';
import { weightFile } from '../../models/weights.ts';
import { attentionForm, bundleFiles, loadBundleJson } from './bundle.ts';
import { resolveXT, TINY_BUNDLE_DIR, type RefLdmParsedOptions } from './common.ts';
import { engineRestorer, type RefLdmRestorer } from './engine-restorer.ts';
import { ms2 } from './instrumentation.ts';
import { RefLdmSampler } from './sampler.ts';

/** The onnx engine: a bundle's graphs through onnxruntime (sampler.ts). */
export async function createOnnxRefLdm(o: RefLdmParsedOptions): Promise<RefLdmRestorer<RefLdmSampler>> {
  const dir = o.bundle ?? (o.config === 'tiny' ? TINY_BUNDLE_DIR : undefined);
  if (!dir) {
    throw new Error(
      "ref-ldm options: 'bundle' is required (a directory with bundle.json); for the paper config export one with " +
        '`python/.venv/bin/python -m refbench_export bundle --config paper --random-init 0 --out <dir>` or convert real weights',
    );
  }
  const bundle = await loadBundleJson(dir);
  const bundleFile = await weightFile(join(bundle.dir, 'bundle.json'), 'bundle.json');
  if (o.config && o.config !== bundle.json.config) throw new Error(`${dir}/bundle.json: config is '${bundle.json.config}', options ask for '${o.config}'`);
  const zeroRefs = o.zeroRefs ?? (bundle.json.zeroRefDefault || 5);
  const sampler = await RefLdmSampler.create(bundle, {
    design: o.design,
    steps: o.steps,
    schedule: o.schedule,
    cfg: o.cfg,
    maxRefs: o.maxRefs,
    zeroRefs,
    quantise: o.quantise,
    device: o.device,
    threads: o.threads,
    verifyHashes: o.verifyHashes,
  });

  // x_T: one tensor shared by every image (paper protocol, §12).
  const { channels: C, size: S } = sampler.latent;
  const { xT, record: xTRecord, file: xTFile } = await resolveXT(o.xT, bundle.dir, C * S * S);

  const w = bundle.json.weights;
  const files = bundleFiles(bundle);
  const info: RestorerInfo = {
    id: 'ref-ldm',
    version: `bundle-v${bundle.json.formatVersion}`,
    weights: w.kind === 'random-init' ? { kind: 'random-init', seed: w.seed, files } : { kind: 'checkpoint', files },
    settings: {
      engine: 'onnx',
      bundle: bundle.dir,
      config: bundle.json.config,
      design: o.design,
      /** The graphs' attention form (docs/bundle.md): results do not depend on it, memory does. */
      attention: attentionForm(bundle).form,
      steps: o.steps,
      stepsRun: sampler.tables.timesteps.length,
      schedule: o.schedule,
      eta: 0,
      cfg: o.cfg,
      maxRefs: o.maxRefs,
      zeroRefs,
      quantise: o.quantise,
      device: o.device,
      threads: o.threads ?? 0,
      xT: xTRecord,
      modelLoadMs: ms2(sampler.loadMs),
      untrained: w.kind === 'random-init',
    },
  };

  const weightFiles: WeightFileRecord[] = [bundleFile, ...sampler.graphFiles, ...(xTFile ? [xTFile] : [])];
  return engineRestorer(sampler, { info, weightFiles, xT, dispose: () => sampler.release() });
}
