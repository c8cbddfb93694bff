/**
 * @file `engine: torch` of the `ref-ldm` restorer: the same options, inputs, x_T, quantisation, timings and record
 * format as the onnx engine, with the networks run by python/refbench_model (engine.py) inside a long-lived
 * PyTorch worker (worker.py, driven by torch-worker.ts).
 *
 * Division of work (so both engines see identical inputs and produce identical outputs from identical decoder
 * values): this side caps references at `maxRefs`, resizes to 512 with the PIL-bicubic port only when needed,
 * draws or reads x_T, and quantises the decoder output (`quantiseImage`); the worker does everything between
 * (u8 → [-1, 1], strip encoding, conditioning, DDIM + CFG, decoding with the codebook snap) on its device.
 *
 * Weights, in this order of precedence (exactly one source): `ckpt` (+ `vqgan`) → the official checkpoints, loaded
 * strictly; `randomInit` → seeded test weights of `config`; `bundle` (default for `config: tiny`: the committed
 * tiny bundle) → a random-init bundle's config and seed, so the torch engine runs bit-identical weights to the
 * bundle's ONNX graphs (both are `refbench_model.init` with that seed; the equality tests compare the images).
 *
 * Provenance as the onnx engine's: every file the weights come from (refldm.ckpt, vqgan.ckpt, or bundle.json) and
 * the x_T file go through `weightFile` BEFORE the worker reads them (sha256, cached; a pinned file whose hash changed
 * is refused) and are exposed as `weightFiles` (run.json `restorer.weights.files`). Weights that exist only in
 * memory (random init) are identified by the worker's sha256 over each module's state dict (`settings.stateDicts`).
 *
 * A worker that dies mid-image fails that sample with a clear message; the next sample starts a new worker.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RestorerInfo } from '../../../eval/restorers/restorer.ts';
import { quantiseImage, toModelSize } from '../../../eval/refldm/image.ts';
import type { RgbImage } from '../../../eval/types.ts';
import type { WeightFileRecord } from '../../../eval/types.ts';
import { weightFile } from '../../models/weights.ts';
import { loadBundleJson } from './bundle.ts';
import type { Blob } from './frames.ts';
import { PYTHON_DIR, REPO_ROOT, VENV_PYTHON } from '../../paths.ts';
import { resolveXT, TINY_BUNDLE_DIR, type RefLdmParsedOptions } from './common.ts';
import { engineRestorer, type EngineSample, type RefLdmRestorer } from './engine-restorer.ts';
import { ms2, peakRssBytes, since } from './instrumentation.ts';
import { TorchWorker, WorkerCrashError, WorkerRequestError, WorkerTimeoutError, type WorkerHello } from './torch-worker.ts';

/** Image side and latent geometry of both configs (512² images, 8 × 64 × 64 latents). */
const IMAGE_SIZE = 512;
const LATENT = { channels: 8, size: 64 } as const;
/** Loading a paper checkpoint (≈ 1.2 GB, hashed and strictly checked) can take minutes on a slow disk. */
const LOAD_TIMEOUT_MS = 30 * 60_000;

/** What the worker reports after loading (the `loaded` frame). */
export interface TorchLoaded {
  readonly config: string;
  readonly design: string;
  readonly device: string;
  readonly deviceName: string;
  readonly torch: string;
  readonly threads: number;
  readonly weights: { kind: 'random-init'; seed: number; files: { name: string; sha256: string }[] } | { kind: 'checkpoint'; files: { name: string; sha256: string }[]; vaeSource?: string };
  readonly switches: Record<string, unknown>;
  readonly requested: Record<string, unknown>;
  readonly ignored: Record<string, string>;
  readonly timesteps: number[];
  readonly loadMs: number;
}

/** One sample's result, as the onnx sampler's `SampleResult`. */
export interface TorchSampleResult extends EngineSample {
  /** Raw decoder output, CHW float32 (before quantisation). */
  readonly decoded: Float32Array;
}

/** Where the weights come from (module doc), resolved before any process starts. */
interface WeightsSource {
  readonly config: 'tiny' | 'paper';
  readonly load: Record<string, unknown>;
  /** The files the weights come from, hashed and pin-checked before the worker reads them. */
  readonly files: WeightFileRecord[];
  readonly bundleDir?: string;
  /** bundle.json's zeroRefDefault (the onnx engine's default for `zeroRefs`). */
  readonly zeroRefDefault?: number;
}

function mustExist(path: string, what: string): string {
  const p = resolve(path);
  if (!existsSync(p) || !statSync(p).isFile()) throw new Error(`ref-ldm options: ${what}: no file at ${p}`);
  return p;
}

async function weightsSource(o: RefLdmParsedOptions): Promise<WeightsSource> {
  const given = (['bundle', 'ckpt', 'randomInit'] as const).filter((k) => o[k] !== undefined);
  if (given.length > 1) throw new Error(`ref-ldm options: ${given.join(' and ')}: give one weights source (bundle, ckpt or randomInit)`);
  if (o.vqgan !== undefined && o.ckpt === undefined) throw new Error("ref-ldm options: vqgan: only used together with 'ckpt'");
  if (o.ckpt !== undefined) {
    const ckpt = mustExist(o.ckpt, 'ckpt');
    const vqgan = o.vqgan !== undefined ? mustExist(o.vqgan, 'vqgan') : null;
    const files = [await weightFile(ckpt, 'refldm.ckpt'), ...(vqgan ? [await weightFile(vqgan, 'vqgan.ckpt')] : [])];
    return { config: o.config ?? 'paper', load: { kind: 'checkpoint', ckpt, vqgan, allowPickle: o.allowPickle, hashFiles: false }, files };
  }
  if (o.randomInit !== undefined) {
    if (!o.config) throw new Error("ref-ldm options: randomInit: needs 'config' (tiny or paper)");
    return { config: o.config, load: { kind: 'random-init', seed: o.randomInit }, files: [] };
  }
  const dir = o.bundle ?? (o.config === 'tiny' ? TINY_BUNDLE_DIR : undefined);
  if (!dir) {
    throw new Error(
      "ref-ldm options (engine torch): give the weights: 'ckpt' (+ 'vqgan'), the official checkpoints; 'randomInit' with 'config' (test weights); or 'bundle' (a random-init bundle: its config and seed); config: tiny alone uses test/fixtures/refldm-tiny",
    );
  }
  const bundle = await loadBundleJson(dir);
  const w = bundle.json.weights;
  if (w.kind !== 'random-init') {
    throw new Error(
      `${join(bundle.dir, 'bundle.json')}: holds converted checkpoint weights (refldm.ckpt sha256 ${w.refldmSha256}); engine torch loads the checkpoints themselves: set 'ckpt' (and 'vqgan') instead of 'bundle'`,
    );
  }
  const config = bundle.json.config;
  if (config !== 'tiny' && config !== 'paper') throw new Error(`${join(bundle.dir, 'bundle.json')}: config '${config}' is not one the torch engine knows (tiny, paper)`);
  if (o.config && o.config !== config) throw new Error(`${bundle.dir}/bundle.json: config is '${config}', options ask for '${o.config}'`);
  const files = [await weightFile(join(bundle.dir, 'bundle.json'), 'bundle.json')];
  return { config, load: { kind: 'random-init', seed: w.seed }, files, bundleDir: bundle.dir, zeroRefDefault: bundle.json.zeroRefDefault || undefined };
}

/** The torch engine: a worker plus everything needed to restart it. */
export class TorchRefLdm {
  private worker: TorchWorker | undefined;
  /** Workers started after the first (each after a crash or a timeout). */
  restarts = 0;
  loaded!: TorchLoaded;
  hello!: WorkerHello;
  /** Milliseconds the first worker took to start and load (reported separately, as the onnx engine's load). */
  loadMs = 0;

  private constructor(
    readonly o: RefLdmParsedOptions,
    readonly source: WeightsSource,
    readonly python: string,
  ) {}

  /** Starts the worker and loads the model. */
  static async create(o: RefLdmParsedOptions): Promise<TorchRefLdm> {
    const source = await weightsSource(o);
    const python = o.python ? resolveInterpreter(o.python) : VENV_PYTHON;
    const e = new TorchRefLdm(o, source, python);
    const t0 = performance.now();
    await e.start();
    e.loadMs = since(t0);
    return e;
  }

  /** The running worker's pid (tests kill it to simulate a crash). */
  get pid(): number | undefined {
    return this.worker?.alive ? this.worker.pid : undefined;
  }

  private async start(): Promise<void> {
    const w = await TorchWorker.start({ python: this.python, pythonPath: PYTHON_DIR, cwd: REPO_ROOT });
    try {
      const f = await w.request(
        {
          type: 'load',
          options: {
            config: this.source.config,
            weights: this.source.load,
            design: this.o.design,
            device: this.o.device,
            threads: this.o.threads ?? 0,
            switches: {
              cfgBatch: this.o.cfgBatch,
              attention: this.o.attention,
              kvCache: this.o.kvCache,
              refPass: this.o.refPass,
              dtype: this.o.dtype,
              compile: this.o.compile,
              cudaGraphs: this.o.cudaGraphs,
              cudnnBenchmark: this.o.cudnnBenchmark,
            },
            sample: { steps: this.o.steps, schedule: this.o.schedule, cfg: this.o.cfg, zeroRefs: this.zeroRefs, channelRefs: 5 },
          },
        },
        [],
        { timeoutMs: LOAD_TIMEOUT_MS, what: 'loading the model' },
      );
      this.loaded = f.header as unknown as TorchLoaded;
      this.hello = w.hello;
      this.worker = w;
    } catch (err) {
      await w.close(1000);
      const msg = err instanceof WorkerRequestError ? `the PyTorch worker could not load the model: ${err.message}` : (err as Error).message;
      throw new Error(`ref-ldm engine torch: ${msg}`);
    }
  }

  /** Zero latents standing for "no references" (§8): the option, else the bundle's default, else 5 (as onnx). */
  get zeroRefs(): number {
    return this.o.zeroRefs ?? this.source.zeroRefDefault ?? 5;
  }

  private async ensureWorker(): Promise<number> {
    if (this.worker?.alive) return 0;
    const t0 = performance.now();
    await this.start();
    this.restarts++;
    return since(t0);
  }

  /**
   * Restores one image (same contract as the onnx `RefLdmSampler.sample`).
   * @throws Error for this sample only: a dead or timed-out worker (restarted on the next call), or a Python error.
   */
  async sample(lqIn: RgbImage, refsIn: readonly RgbImage[], xT: Float32Array, onStep?: (i: number, n: number) => void): Promise<TorchSampleResult> {
    const restartMs = await this.ensureWorker();
    const w = this.worker!;
    const tStart = performance.now();
    const plane = LATENT.channels * LATENT.size * LATENT.size;
    if (xT.length !== plane) throw new Error(`x_T: expected ${plane} values (1×${LATENT.channels}×${LATENT.size}×${LATENT.size}), got ${xT.length}`);
    const used = refsIn.slice(0, this.o.maxRefs);
    const img = (name: string, im: RgbImage): Blob => {
      const r = toModelSize(im, IMAGE_SIZE);
      return { name, dtype: 'uint8', shape: [r.height, r.width, 3], data: r.data };
    };
    const blobs: Blob[] = [img('lq', lqIn), ...used.map((r, i) => img(`ref${i}`, r)), { name: 'xT', dtype: 'float32', shape: [1, LATENT.channels, LATENT.size, LATENT.size], data: xT }];
    const prep = since(tStart);
    let f;
    try {
      f = await w.request({ type: 'restore', refs: used.length, progress: !!onStep }, blobs, {
        timeoutMs: this.o.timeoutS * 1000,
        what: 'restoring an image',
        onFrame: (s) => onStep?.(Number(s.header.i), Number(s.header.n)),
      });
    } catch (err) {
      if (err instanceof WorkerCrashError || err instanceof WorkerTimeoutError) {
        throw new Error(`ref-ldm engine torch: ${err.message}; the worker is restarted for the next sample`);
      }
      if (err instanceof WorkerRequestError) throw new Error(`ref-ldm engine torch: ${err.message}`);
      throw err;
    }
    const decoded = f.blobs.get('decoded')?.data as Float32Array | undefined;
    const latent = f.blobs.get('latent')?.data as Float32Array | undefined;
    if (!decoded || decoded.length !== 3 * IMAGE_SIZE * IMAGE_SIZE || !latent || latent.length !== plane) {
      throw new Error(`ref-ldm engine torch: the worker's result lacks 'decoded' [1,3,${IMAGE_SIZE},${IMAGE_SIZE}] or 'latent' [1,8,64,64]`);
    }
    // NaN / Inf (e.g. an fp16 overflow) must fail the sample, not quantise to plausible pixels.
    const bad = decoded.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`ref-ldm engine torch: non-finite decoder output (value ${decoded[bad]} at index ${bad}; dtype ${this.o.dtype})`);
    const tq = performance.now();
    const image = quantiseImage(decoded, IMAGE_SIZE, IMAGE_SIZE, this.o.quantise);
    const quant = since(tq);
    const t = f.header.timings as Record<string, number | number[]>;
    const wi = f.header.info as Record<string, unknown>;
    const num = (k: string) => (typeof t[k] === 'number' ? (t[k] as number) : 0);
    return {
      image,
      latent,
      decoded,
      timings: {
        preprocess: prep + num('preprocessMs'),
        encode: num('encodeMs'),
        refPass: num('refPassMs'),
        steps: Array.isArray(t.stepsMs) ? (t.stepsMs as number[]) : [],
        decode: num('decodeMs') + quant,
        total: since(tStart),
      },
      info: {
        ...wi,
        refsGiven: refsIn.length,
        refsUsed: used.length,
        peakRssBytes: peakRssBytes(),
        engine: 'torch',
        workerPid: w.pid,
        workerTotalMs: num('totalMs'),
        ...(restartMs ? { workerRestarted: true, workerRestartMs: restartMs } : {}),
      },
    };
  }

  /** The 16 layers' K/V of one zero reference latent (the CFG unconditional branch), `k_00`…`v_15` [H, d, T]. */
  async zeroKv(): Promise<Map<string, Float32Array>> {
    await this.ensureWorker();
    const f = await this.worker!.request({ type: 'zero-kv', latentSize: LATENT.size }, [], { timeoutMs: 600_000, what: 'computing the zero-reference K/V' });
    return new Map([...f.blobs].map(([k, b]) => [k, b.data as Float32Array]));
  }

  /** The VAE decoder (codebook snap included, fp32) on a given latent [1, 8, 64, 64]: raw output, CHW float32. */
  async decode(latent: Float32Array): Promise<Float32Array> {
    const plane = LATENT.channels * LATENT.size * LATENT.size;
    if (latent.length !== plane) throw new Error(`decode: expected ${plane} latent values, got ${latent.length}`);
    await this.ensureWorker();
    const f = await this.worker!.request({ type: 'decode' }, [{ name: 'latent', dtype: 'float32', shape: [1, LATENT.channels, LATENT.size, LATENT.size], data: latent }], {
      timeoutMs: 600_000,
      what: 'decoding a latent',
    });
    const d = f.blobs.get('decoded')?.data as Float32Array | undefined;
    if (!d || d.length !== 3 * IMAGE_SIZE * IMAGE_SIZE) throw new Error(`ref-ldm engine torch: the worker's decode answer lacks 'decoded' [1,3,${IMAGE_SIZE},${IMAGE_SIZE}]`);
    return d;
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    await this.worker?.close();
    this.worker = undefined;
  }
}

/** A user-given interpreter: a path (relative to the working directory) or a command name on PATH. */
function resolveInterpreter(p: string): string {
  return p.includes('/') ? resolve(p) : p;
}

/** Creates the `ref-ldm` restorer with `engine: torch` (options already parsed: common.ts `parseRefLdmOptions`). */
export async function createTorchRefLdm(o: RefLdmParsedOptions): Promise<RefLdmRestorer<TorchRefLdm>> {
  const engine = await TorchRefLdm.create(o);
  let xt: Awaited<ReturnType<typeof resolveXT>>;
  try {
    xt = await resolveXT(o.xT, engine.source.bundleDir, LATENT.channels * LATENT.size * LATENT.size);
  } catch (err) {
    await engine.close();
    throw err;
  }
  const { xT, record: xTRecord } = xt;
  const L = engine.loaded;
  const w = L.weights;
  const random = w.kind === 'random-init';
  const weightFiles: WeightFileRecord[] = [...engine.source.files, ...(xt.file ? [xt.file] : [])];
  const files = weightFiles.map((f) => ({ name: f.name, sha256: f.sha256 }));
  const info: RestorerInfo = {
    id: 'ref-ldm',
    version: 'torch-engine-p1',
    weights: random ? { kind: 'random-init', seed: w.seed, files } : { kind: 'checkpoint', files },
    settings: {
      engine: 'torch',
      ...(engine.source.bundleDir ? { bundle: engine.source.bundleDir } : {}),
      ...(o.ckpt ? { ckpt: resolve(o.ckpt), ...(o.vqgan ? { vqgan: resolve(o.vqgan) } : {}) } : {}),
      ...(w.kind === 'checkpoint' && w.vaeSource ? { vaeSource: w.vaeSource } : {}),
      config: L.config,
      design: o.design,
      steps: o.steps,
      stepsRun: L.timesteps.length,
      schedule: o.schedule,
      eta: 0,
      cfg: o.cfg,
      maxRefs: o.maxRefs,
      zeroRefs: engine.zeroRefs,
      quantise: o.quantise,
      device: o.device,
      deviceName: L.deviceName,
      threads: L.threads,
      dtype: o.dtype,
      switches: L.switches,
      ...(Object.keys(L.ignored).length ? { switchesIgnored: L.ignored } : {}),
      ...(random ? { stateDicts: Object.fromEntries(w.files.map((f) => [f.name.replace(/ \(state_dict sha256\)$/, ''), f.sha256])) } : {}),
      python: engine.python,
      pythonVersion: engine.hello.python,
      torch: L.torch,
      xT: xTRecord,
      modelLoadMs: ms2(engine.loadMs),
      untrained: random,
    },
  };
  return engineRestorer(engine, { info, weightFiles, xT, dispose: () => engine.close() });
}
