/**
 * @file The four reference-fusion designs of the paper (§3.1.3, Fig. 3; docs/model.md §9) as conditioning
 * builders over their ONNX graphs. Each design turns the reference latents of one image into a "step function"
 * ε(x_in, t) for the DDIM loop; the loop, timing and CFG batching are shared (sampler.ts).
 *
 * CFG rows are always [uncond, cond] (§6). The unconditional branch sees zero reference latents — for CacheKV
 * through the constant zero-reference K/V computed once per sampler and tiled (§8).
 */
import { f32, runSession, type Feeds, type Session, type Tensor } from '../../ort/session.ts';
import { concatRefKv, rangePick, tilePick } from '../../../eval/refldm/kv.ts';
import { joinWidth } from '../../../eval/refldm/image.ts';
import type { AttentionLayer } from './bundle.ts';

export type DesignId = 'cachekv' | 'spatial' | 'cross' | 'channel';
export const DESIGNS: readonly DesignId[] = Object.freeze(['cachekv', 'spatial', 'cross', 'channel']);

/** Latent geometry: C channels × S × S (8 × 64 × 64 for ReF-LDM). */
export interface LatentShape {
  readonly channels: number;
  readonly size: number;
}

/** The reference latents of one image: `n` latents [n, C, S, S]; `zero` marks the 0-reference stand-in. */
export interface RefLatents {
  readonly data: Float32Array;
  readonly n: number;
  /** True when these are `zeroRefs` zero latents standing for "no references" (§8). */
  readonly zero: boolean;
}

/** Extra feeds for the main U-Net graph, built once per image and reused at every step. */
export interface Conditioning {
  readonly feeds: Feeds;
  /** Milliseconds spent building them (the CacheKV reference pass; array work for the others). */
  readonly ms: number;
  /** Facts for the sample record (references actually fed, zero latents appended...). */
  readonly info: Readonly<Record<string, unknown>>;
}

/** The per-design part of the sampler. */
export interface Design {
  readonly id: DesignId;
  /** The main denoiser graph (x, t, + design inputs → eps). */
  readonly unet: Session;
  /**
   * Builds the conditioning for `batch` rows: 1 = [cond], 2 = [uncond, cond].
   * @param refs reference latents in strip order.
   */
  condition(refs: RefLatents, batch: 1 | 2): Promise<Conditioning>;
  /** Sessions besides `unet` (for release). */
  extraSessions(): Session[];
}

/** `k_00` … `k_15`, `v_00` … `v_15` names for a layer index. */
export function kvNames(index: number): [string, string] {
  const s = String(index).padStart(2, '0');
  return [`k_${s}`, `v_${s}`];
}

/**
 * CacheKV (§7): one reference pass at t = 0 over all reference latents (one batch), then per-layer K/V
 * [B·H, D, N·T] built once. The zero-reference K/V (one zero latent through the reference pass) are a constant
 * of the model: computed on first use and cached on the design object.
 */
export class CacheKvDesign implements Design {
  readonly id = 'cachekv' as const;
  private zeroKv: Record<string, Float32Array> | undefined;

  constructor(
    readonly unet: Session,
    private readonly unetRef: Session,
    private readonly layers: readonly AttentionLayer[],
    private readonly latent: LatentShape,
  ) {}

  extraSessions(): Session[] {
    return [this.unetRef];
  }

  /** Runs the reference graph on [n, C, S, S] latents; returns each K/V output's data ([n·H, D, T]). */
  async referencePass(lat: Float32Array, n: number): Promise<Record<string, Float32Array>> {
    const { channels: C, size: S } = this.latent;
    const out = await runSession(this.unetRef, { [this.unetRef.inputNames[0]]: f32(lat, [n, C, S, S]) });
    const res: Record<string, Float32Array> = {};
    for (const layer of this.layers) {
      for (const name of kvNames(layer.index)) {
        const t = out[name];
        if (!t) throw new Error(`unet_ref: output '${name}' missing (outputs: ${Object.keys(out).join(', ')})`);
        res[name] = t.data as Float32Array;
      }
    }
    return res;
  }

  /** The zero-reference K/V (computed once). */
  async zeroKvOnce(): Promise<Record<string, Float32Array>> {
    if (!this.zeroKv) {
      const { channels: C, size: S } = this.latent;
      this.zeroKv = await this.referencePass(new Float32Array(C * S * S), 1);
    }
    return this.zeroKv;
  }

  async condition(refs: RefLatents, batch: 1 | 2): Promise<Conditioning> {
    const t0 = performance.now();
    const zero = await this.zeroKvOnce();
    // NOTE: the official code runs one U-Net pass per reference in a Python loop (§7.2); we run the N
    // references as one batch of the same graph. Rows are independent, so this matches up to float rounding.
    const real = refs.zero ? undefined : await this.referencePass(refs.data, refs.n);
    const feeds: Feeds = {};
    for (const layer of this.layers) {
      for (const name of kvNames(layer.index)) {
        const condRow = real ? { data: real[name], count: refs.n, pick: rangePick(refs.n) } : { data: zero[name], count: 1, pick: tilePick(refs.n) };
        const rows = batch === 2 ? [{ data: zero[name], count: 1, pick: tilePick(refs.n) }, condRow] : [condRow];
        const kv = concatRefKv(layer, rows);
        feeds[name] = f32(kv, [batch * layer.heads, layer.headDim, refs.n * layer.tokens]);
      }
    }
    return { feeds, ms: performance.now() - t0, info: { refPassBatch: refs.zero ? 0 : refs.n } };
  }
}

/** Spatial- and cross-attention designs: `refs` = the latents side by side, [B, C, S, S·N]; uncond = zeros. */
export class WideRefsDesign implements Design {
  constructor(
    readonly id: 'spatial' | 'cross',
    readonly unet: Session,
    private readonly latent: LatentShape,
  ) {}

  extraSessions(): Session[] {
    return [];
  }

  async condition(refs: RefLatents, batch: 1 | 2): Promise<Conditioning> {
    const t0 = performance.now();
    const { channels: C, size: S } = this.latent;
    const wide = joinWidth(refs.data, C, S, S, refs.n);
    const data = new Float32Array(batch * wide.length);
    data.set(wide, (batch - 1) * wide.length); // row 0 stays zero when batch = 2
    const feeds: Feeds = { refs: f32(data, [batch, C, S, S * refs.n]) };
    return { feeds, ms: performance.now() - t0, info: {} };
  }
}

/**
 * Channel-concatenation: exactly `slots` latents on the channel axis, [B, C·slots, S, S]. Fewer references are
 * repeated cyclically (slot j holds reference j mod n), as the Python reference sampler does and as training
 * duplicated references (`dup_to_max_num_refs`); more are cut (both recorded). Uncond = zeros.
 */
export class ChannelDesign implements Design {
  readonly id = 'channel' as const;
  constructor(
    readonly unet: Session,
    private readonly latent: LatentShape,
    private readonly slots: number,
  ) {}

  extraSessions(): Session[] {
    return [];
  }

  async condition(refs: RefLatents, batch: 1 | 2): Promise<Conditioning> {
    const t0 = performance.now();
    const { channels: C, size: S } = this.latent;
    const per = C * S * S;
    if (refs.n < 1) throw new Error('channel design: at least one reference latent (or zero latent) is required');
    const used = Math.min(refs.n, this.slots);
    const rowLen = per * this.slots;
    const data = new Float32Array(batch * rowLen);
    // [n, C, S, S] → [1, n·C, S, S] is the same memory order: slot j ← latent (j mod used).
    const row = (batch - 1) * rowLen;
    for (let j = 0; j < this.slots; j++) {
      const src = j % used;
      data.set(refs.data.subarray(src * per, (src + 1) * per), row + j * per);
    }
    const feeds: Feeds = { refs: f32(data, [batch, C * this.slots, S, S]) };
    return {
      feeds,
      ms: performance.now() - t0,
      info: {
        channelSlots: this.slots,
        channelRefsUsed: refs.zero ? 0 : used,
        channelRefsRepeated: this.slots - used,
        channelRefsDropped: refs.n - used,
      },
    };
  }
}

export type { Tensor };
