/**
 * @file The ReF-LDM sampler over an ONNX bundle: `prepare → encode → condition → DDIM loop → decode → quantise`,
 * one visible composition (transformers.js pipeline shape). Sessions are created once and reused for every image;
 * per-image conditioning (CacheKV K/V or reference latents) is built once and reused at every step; the loop
 * reuses its input buffers (no per-step allocation on the JS side apart from what onnxruntime returns).
 *
 * Follows docs/model.md: §11 preprocessing, §7.1 strip encoding, §7 CacheKV, §6 CFG ([uncond, cond] as one
 * B = 2 batch; scale 1 = one conditional pass), §5 DDIM, §8 zero references, §11 trunc quantisation.
 */
import { createSession, f32, runSession, Tensor, type Device, type Session } from '../../ort/session.ts';
import { cfgCombine, clampTimesteps, ddimStep, makeDdimTables, makeDdimTimesteps, needsUncond, type DdimSchedule, type DdimTables } from '../../../eval/schedulers/ddim.ts';
import { buildRefStrip, quantiseImage, splitWidth, toChwMinusOneOne, toModelSize, type QuantiseMode } from '../../../eval/refldm/image.ts';
import type { RgbImage } from '../../../eval/types.ts';
import { graphPath, type Bundle, type GraphKey } from './bundle.ts';
import { relative } from 'node:path';
import type { WeightFileRecord } from '../../../eval/types.ts';
import { weightFile } from '../../models/weights.ts';
import { CacheKvDesign, ChannelDesign, WideRefsDesign, type Design, type DesignId, type LatentShape, type RefLatents } from './designs.ts';
import { peakRssBytes, since } from './instrumentation.ts';

/** Sampler settings (validated by the restorer's zod schema). */
export interface SamplerSettings {
  readonly design: DesignId;
  readonly steps: number;
  readonly schedule: DdimSchedule;
  readonly cfg: number;
  readonly maxRefs: number;
  readonly zeroRefs: number;
  readonly quantise: QuantiseMode;
  readonly device: Device;
  readonly threads?: number;
  readonly verifyHashes: boolean;
}

/** Everything one sample produces besides the image. */
export interface SampleResult {
  readonly image: RgbImage;
  /** Final latent x₀ (after the last DDIM step, before the codebook snap), [1, C, S, S]. */
  readonly latent: Float32Array;
  readonly timings: {
    readonly preprocess: number;
    readonly encode: number;
    readonly refPass: number;
    readonly steps: number[];
    readonly decode: number;
    readonly total: number;
  };
  readonly info: Readonly<Record<string, unknown>>;
}

const DESIGN_GRAPH: Record<DesignId, GraphKey> = { cachekv: 'unet', spatial: 'unetSpatial', cross: 'unetCross', channel: 'unetChannel' };

export class RefLdmSampler {
  readonly latent: LatentShape;
  readonly imageSize: number;
  readonly tables: DdimTables;
  /** True when the official list ran past ᾱ's end and its last timestep was clamped (see `clampTimesteps`). */
  readonly timestepsClamped: boolean;
  /** Milliseconds to create the sessions (reported separately from per-image timings). */
  loadMs = 0;
  /** The ONNX files the sessions were created from (pin-checked before loading), in load order. */
  graphFiles: WeightFileRecord[] = [];

  private constructor(
    readonly bundle: Bundle,
    readonly settings: SamplerSettings,
    private readonly encoder: Session,
    private readonly decoder: Session,
    readonly design: Design,
  ) {
    const l = bundle.json.latent;
    this.latent = { channels: l.channels, size: l.size };
    this.imageSize = l.size * l.factor;
    const numTrain = bundle.json.schedule.numTimesteps;
    const ts = clampTimesteps(makeDdimTimesteps(settings.schedule, settings.steps, numTrain), numTrain);
    this.timestepsClamped = ts.clamped;
    this.tables = makeDdimTables(ts.timesteps, bundle.alphasCumprod);
  }

  /** Creates the sessions the design needs (sha256-checked). */
  static async create(bundle: Bundle, settings: SamplerSettings): Promise<RefLdmSampler> {
    const t0 = performance.now();
    const so = { device: settings.device, threads: settings.threads, graphOptimization: 'all' as const };
    const files: WeightFileRecord[] = [];
    const open = async (key: GraphKey) => {
      const path = await graphPath(bundle, key, settings.verifyHashes);
      files.push(await weightFile(path, relative(bundle.dir, path)));
      return createSession(path, so);
    };
    const [encoder, decoder, unet] = await Promise.all([open('vaeEncoder'), open('vaeDecoder'), open(DESIGN_GRAPH[settings.design])]);
    const l = bundle.json.latent;
    const latent = { channels: l.channels, size: l.size };
    let design: Design;
    switch (settings.design) {
      case 'cachekv':
        design = new CacheKvDesign(unet, await open('unetRef'), bundle.json.attentionLayers, latent);
        break;
      case 'spatial':
      case 'cross':
        design = new WideRefsDesign(settings.design, unet, latent);
        break;
      case 'channel':
        design = new ChannelDesign(unet, latent, bundle.json.channelConcatRefs);
        break;
    }
    const s = new RefLdmSampler(bundle, settings, encoder, decoder, design);
    if (design instanceof CacheKvDesign) await design.zeroKvOnce();
    s.loadMs = since(t0);
    s.graphFiles = files;
    return s;
  }

  /** Releases every onnxruntime session this sampler holds. */
  async release(): Promise<void> {
    const sessions = new Set<Session>([this.encoder, this.decoder, this.design.unet, ...this.design.extraSessions()]);
    await Promise.all([...sessions].map((s) => s.release()));
  }

  /** VAE encoder on a CHW [-1, 1] image of width `w` → latent [1, C, S, w/f] (pre-quantisation). */
  async encode(chw: Float32Array, width: number): Promise<Float32Array> {
    const out = await runSession(this.encoder, { [this.encoder.inputNames[0]]: f32(chw, [1, 3, this.imageSize, width]) });
    return out[this.encoder.outputNames[0]].data as Float32Array;
  }

  /** VAE decoder (with codebook snap) → CHW image ≈[-1, 1]. */
  async decode(latent: Float32Array): Promise<Float32Array> {
    const { channels: C, size: S } = this.latent;
    const out = await runSession(this.decoder, { [this.decoder.inputNames[0]]: f32(latent, [1, C, S, S]) });
    return out[this.decoder.outputNames[0]].data as Float32Array;
  }

  /**
   * Restores one image.
   * @param xT initial noise [1, C, S, S] (not modified).
   * @param refsIn references in CSV order; the first `maxRefs` are used, never duplicated.
   */
  async sample(lqIn: RgbImage, refsIn: readonly RgbImage[], xT: Float32Array, onStep?: (i: number, n: number) => void): Promise<SampleResult> {
    const tStart = performance.now();
    const { channels: C, size: S } = this.latent;
    const plane = C * S * S;
    if (xT.length !== plane) throw new Error(`x_T: expected ${plane} values (1×${C}×${S}×${S}), got ${xT.length}`);

    // 1. prepare: resize to 512 only if needed, u8/127.5 − 1, CHW; references as one strip.
    let t0 = performance.now();
    const used = refsIn.slice(0, this.settings.maxRefs);
    const lq = toChwMinusOneOne(toModelSize(lqIn, this.imageSize));
    const strip = used.length ? buildRefStrip(used.map((r) => toModelSize(r, this.imageSize))) : undefined;
    const preprocess = since(t0);

    // 2. encode: LQ, then the strip in ONE pass, split along width (§7.1).
    t0 = performance.now();
    const zLq = await this.encode(lq, this.imageSize);
    let refs: RefLatents;
    if (strip) {
      const wide = await this.encode(strip.data, strip.width);
      refs = { data: splitWidth(wide, C, S, S, used.length), n: used.length, zero: false };
    } else {
      refs = { data: new Float32Array(this.settings.zeroRefs * plane), n: this.settings.zeroRefs, zero: true };
    }
    const encode = since(t0);

    // 3. condition once per image (CacheKV: the t = 0 reference pass).
    const batch: 1 | 2 = needsUncond(this.settings.cfg) ? 2 : 1;
    const cond = await this.design.condition(refs, batch);

    // 4. DDIM loop. Buffers and tensors are allocated once; only their contents change per step.
    const xIn = new Float32Array(batch * 2 * plane);
    for (let b = 0; b < batch; b++) xIn.set(zLq, (b * 2 + 1) * plane);
    const tData = new BigInt64Array(batch);
    const feeds: Record<string, Tensor> = {
      ...cond.feeds,
      x: f32(xIn, [batch, 2 * C, S, S]),
      t: new Tensor('int64', tData, [batch]),
    };
    const x = Float32Array.from(xT);
    const eps = new Float32Array(plane);
    const { timesteps } = this.tables;
    const stepMs: number[] = [];
    for (let i = timesteps.length - 1, k = 0; i >= 0; i--, k++) {
      const ts = performance.now();
      for (let b = 0; b < batch; b++) xIn.set(x, b * 2 * plane);
      tData.fill(BigInt(timesteps[i]));
      const out = await runSession(this.design.unet, feeds);
      const e = out[this.design.unet.outputNames[0]].data as Float32Array;
      if (batch === 2) cfgCombine(e.subarray(0, plane), e.subarray(plane, 2 * plane), this.settings.cfg, eps);
      else eps.set(e);
      ddimStep(this.tables, i, x, eps, x);
      stepMs.push(since(ts));
      onStep?.(k + 1, timesteps.length);
    }

    // 5. decode and quantise.
    t0 = performance.now();
    const img = await this.decode(x);
    const image = quantiseImage(img, this.imageSize, this.imageSize, this.settings.quantise);
    const decode = since(t0);

    return {
      image,
      latent: x,
      timings: { preprocess, encode, refPass: cond.ms, steps: stepMs, decode, total: since(tStart) },
      info: {
        design: this.design.id,
        refsGiven: refsIn.length,
        refsUsed: used.length,
        zeroRefs: refs.zero ? refs.n : 0,
        batch,
        stepsRun: timesteps.length,
        ...(this.timestepsClamped ? { timestepsClamped: true } : {}),
        peakRssBytes: peakRssBytes(),
        ...cond.info,
      },
    };
  }
}
