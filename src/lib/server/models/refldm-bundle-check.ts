/**
 * @file `refbench models verify` for a ReF-LDM ONNX bundle: every graph's sha256 against bundle.json, then the
 * zero-reference K/V parity check (kv-parity.ts): the bundle's `unetRef` graph on one zero latent (the CFG
 * unconditional branch's input, the most ill-conditioned input of the reference pass) against the PyTorch model
 * of the same weights, run by the torch engine's worker. The PyTorch side comes from the weights bundle.json names:
 * a random-init bundle is rebuilt from its config and seed; a checkpoint bundle needs the official checkpoints
 * (`ckpt` / `vqgan`, by default the manifest's `weights/refldm/`), whose sha256 must equal bundle.json's.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createSession } from '../ort/session.ts';
import { graphPath, loadBundleJson, sha256File, type GraphKey } from '../restorers/ref-ldm/bundle.ts';
import { CacheKvDesign } from '../restorers/ref-ldm/designs.ts';
import { compareZeroKv, type KvParity } from '../restorers/ref-ldm/kv-parity.ts';
import { parseRefLdmOptions } from '../restorers/ref-ldm/common.ts';
import { TorchRefLdm } from '../restorers/ref-ldm/torch-engine.ts';
import { modelDir } from './paths.ts';

/** One line of the bundle check. */
export interface BundleCheckRow {
  readonly kind: 'file' | 'check';
  readonly name: string;
  readonly status: 'verified' | 'hash mismatch' | 'missing' | 'ok' | 'MISMATCH' | 'not run';
  readonly detail: string;
}

export interface BundleCheckOptions {
  /** refldm.ckpt / vqgan.ckpt for a checkpoint bundle (default: `<models>/weights/refldm/`). */
  readonly ckpt?: string;
  readonly vqgan?: string;
  readonly modelsDir?: string;
  readonly python?: string;
  readonly threads?: number;
}

export interface BundleCheck {
  readonly dir: string;
  readonly summary: string;
  readonly rows: BundleCheckRow[];
  readonly parity?: KvParity;
  /** No mismatch and no missing file (a check that could not run is a 'not run' row, not a failure here). */
  readonly ok: boolean;
}

const BAD: readonly BundleCheckRow['status'][] = ['hash mismatch', 'missing', 'MISMATCH'];

const fmt = (v: number) => v.toExponential(2);

/** Checks one bundle (module doc). Never throws for a finding: a problem is a row; throws only for unusable input. */
export async function checkRefldmBundle(dirArg: string, o: BundleCheckOptions = {}): Promise<BundleCheck> {
  const bundle = await loadBundleJson(dirArg);
  const j = bundle.json;
  const w = j.weights;
  const rows: BundleCheckRow[] = [];
  for (const [key, g] of Object.entries(j.graphs)) {
    if (!g || typeof g !== 'object' || !('file' in g)) continue;
    const file = String((g as { file: string }).file);
    const path = join(bundle.dir, file);
    if (!existsSync(path)) {
      rows.push({ kind: 'file', name: file, status: 'missing', detail: `graphs.${key}` });
      continue;
    }
    const sha = await sha256File(path);
    const want = j.files[file];
    rows.push(sha === want ? { kind: 'file', name: file, status: 'verified', detail: sha } : { kind: 'file', name: file, status: 'hash mismatch', detail: `sha256 ${sha} ≠ bundle.json ${want}` });
  }
  const summary = `${j.config}, ${w.kind === 'random-init' ? `random-init seed ${w.seed}` : `checkpoint refldm.ckpt ${w.refldmSha256.slice(0, 12)}…`}`;
  const name = 'zero-reference K/V (onnx unetRef vs PyTorch)';
  const refGraph = j.graphs.unetRef;
  const result = (parity?: KvParity): BundleCheck => ({ dir: bundle.dir, summary, rows, parity, ok: !rows.some((r) => BAD.includes(r.status)) });
  const notRun = (detail: string): BundleCheck => {
    rows.push({ kind: 'check', name, status: 'not run', detail });
    return result();
  };
  if (!refGraph) return notRun('the bundle has no unetRef graph (cachekv design)');
  const refRow = rows.find((r) => r.name === refGraph.file);
  if (refRow?.status !== 'verified') return notRun(`${refGraph.file} is ${refRow?.status ?? 'missing'}`);

  let source: Record<string, unknown>;
  if (w.kind === 'random-init') {
    source = { bundle: bundle.dir };
  } else {
    const dir = modelDir(o.modelsDir, 'refldm');
    const ckpt = resolve(o.ckpt ?? join(dir, 'refldm.ckpt'));
    const vqgan = resolve(o.vqgan ?? join(dir, 'vqgan.ckpt'));
    if (!existsSync(ckpt)) return notRun(`checkpoint bundle: the PyTorch side needs ${ckpt} (refbench models fetch refldm, or --ckpt)`);
    const sha = await sha256File(ckpt);
    if (sha !== w.refldmSha256) return notRun(`${ckpt}: sha256 ${sha} ≠ bundle.json weights.refldmSha256 ${w.refldmSha256}: not the checkpoint this bundle was exported from`);
    source = { ckpt, config: j.config, ...(existsSync(vqgan) ? { vqgan } : {}) };
  }
  const precision = refGraph.precision ?? 'fp32';
  const session = await createSession(await graphPath(bundle, 'unetRef' as GraphKey, false), { device: 'cpu', threads: o.threads, graphOptimization: 'all' });
  let torch: TorchRefLdm | undefined;
  try {
    const l = j.latent;
    const want = await new CacheKvDesign(undefined as never, session, j.attentionLayers, { channels: l.channels, size: l.size }).zeroKvOnce();
    torch = await TorchRefLdm.create(parseRefLdmOptions({ engine: 'torch', design: 'cachekv', ...source, ...(o.python ? { python: o.python } : {}), ...(o.threads ? { threads: o.threads } : {}) }));
    const got = await torch.zeroKv();
    const p = compareZeroKv(got, want, j.attentionLayers, precision);
    rows.push({
      kind: 'check',
      name,
      status: p.ok ? 'ok' : 'MISMATCH',
      detail: `max |Δ| ${fmt(p.maxAbs)} of max |K/V| ${p.scale.toFixed(2)}: ${fmt(p.relative)} relative ${p.ok ? '≤' : '>'} ${p.tolerance} (${precision} graph; worst ${p.worst})`,
    });
    return result(p);
  } finally {
    await torch?.close();
    await session.release();
  }
}
