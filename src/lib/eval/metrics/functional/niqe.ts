/**
 * @file NIQE (Mittal, Soundararajan & Bovik 2013) as pyiqa 'niqe' computes it (`pyiqa/archs/niqe_arch.py`,
 * `calculate_niqe` → `niqe`; features from `archs/func_util.py: estimate_aggd_param`), the setting ReF-LDM's
 * eval.py uses. No reference image; lower is better.
 *
 * Pipeline (pyiqa line by line):
 * 1. Y = round(Y_YIQ·255) (color.ts), float64; crop top-left to a multiple of 96 in both directions.
 * 2. For scale s ∈ {1, 2}: MSCN  m = (Y − μ)/(σ + 1), μ = K⋆Y, σ = √(|K⋆Y² − μ²| + ε₆₄), K = fspecial(7, 7/6)
 *    (float32 taps), 'same' with replicate padding; then 18 features per (96/s)² block (column-major block order):
 *    AGGD fit of m → [α, (βₗ+βᵣ)/2]; for the 4 products m·roll(m, shift) with shifts (0,1), (1,0), (1,1), (1,−1)
 *    (circular inside the block) → [α, η, βₗ, βᵣ], η = (βᵣ − βₗ)·Γ(2/α)/Γ(1/α).
 *    Between the scales: Y ← imresize(Y/255, 0.5, antialias)·255 (matlab-resize.ts, float32 like pyiqa).
 * 3. μ_d = nan-mean over blocks (per feature), Σ_d = covariance of the blocks without NaN (n − 1).
 * 4. NIQE = √((μ_p − μ_d)ᵀ pinv((Σ_p + Σ_d)/2) (μ_p − μ_d)).
 *
 * AGGD fit: α is the grid value γ ∈ {0.2, 0.201, …, 10} minimising |r(γ) − r̂ₙ|, r(γ) = Γ(2/γ)²/(Γ(1/γ)Γ(3/γ)).
 * NOTE: the grid is torch.arange(0.2, 10.001, 0.001) in float32, whose values depend on torch's vectorised
 * arange (8-lane blocks from a double base, scalar tail); `gammaGrid` reproduces torch 2.13 CPU bit for bit.
 * A block whose fit is undefined (no negative or no positive values, e.g. a flat block) gives r̂ₙ = NaN, and
 * torch's argmin over an all-NaN row returns 0, so α = 0.2 while the β features are NaN; we do the same.
 */
import type { RgbImage } from '../../types.ts';
import { yiqLuma255 } from './color.ts';
import { filterSameReplicate, fspecialGaussian } from './gaussian.ts';
import { symmetricEigenJacobi } from './linalg.ts';
import { imresizeMatlab } from './matlab-resize.ts';

export const NIQE_BLOCK = 96;
export const NIQE_FEATURES = 36;

/** Pristine multivariate Gaussian: μ_p (36) and Σ_p (36×36 row-major). */
export interface NiqePristineParams {
  readonly mu: Float64Array;
  readonly cov: Float64Array;
}

/**
 * Validates models/niqe/niqe-pris-params.json (`{ mu: number[36], cov: number[36][36], source: {...} }`).
 * @param what the file name, used in errors
 */
export function parseNiqeParams(json: unknown, what: string): NiqePristineParams {
  const o = json as { mu?: unknown; cov?: unknown };
  const isNums = (a: unknown, n: number): a is number[] => Array.isArray(a) && a.length === n && a.every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!o || !isNums(o.mu, NIQE_FEATURES)) throw new Error(`${what}: field 'mu' must be ${NIQE_FEATURES} finite numbers`);
  if (!Array.isArray(o.cov) || o.cov.length !== NIQE_FEATURES || !o.cov.every((r) => isNums(r, NIQE_FEATURES))) {
    throw new Error(`${what}: field 'cov' must be a ${NIQE_FEATURES}×${NIQE_FEATURES} array of finite numbers`);
  }
  const cov = Float64Array.from((o.cov as number[][]).flat());
  for (let i = 0; i < NIQE_FEATURES; i++) {
    for (let j = 0; j < i; j++) {
      if (cov[i * NIQE_FEATURES + j] !== cov[j * NIQE_FEATURES + i]) throw new Error(`${what}: field 'cov' is not symmetric at [${i}][${j}]`);
    }
  }
  return { mu: Float64Array.from(o.mu), cov };
}

// ------------------------------------------------------------------------------------------------ maths helpers

const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos g = 7, n = 9, reflection below 0.5); ~1e-15 absolute on NIQE's range [0.1, 15]. */
export function lgamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  const t = z + LANCZOS_G + 0.5;
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** torch.arange(0.2, 10 + 0.001, 0.001) (float32, CPU) as float64 values. */
export function gammaGrid(): Float64Array {
  const n = Math.ceil((10 + 0.001 - 0.2) / 0.001); // 9801
  const g = new Float64Array(n);
  const lanes = 8;
  const vectorEnd = Math.floor(n / (2 * lanes)) * 2 * lanes; // vectorised loop does 2 vectors per step
  for (let c = 0; c < vectorEnd; c += lanes) {
    const base = Math.fround(0.2 + 0.001 * c);
    for (let k = 0; k < lanes; k++) g[c + k] = Math.fround(base + k * 0.001);
  }
  for (let i = vectorEnd; i < n; i++) g[i] = Math.fround(0.2 + 0.001 * i);
  return g;
}

let grid: { gam: Float64Array; rGam: Float64Array; monotone: boolean } | undefined;
/** The (γ, r(γ)) grid, computed once per process. */
function aggdGrid() {
  if (!grid) {
    const gam = gammaGrid();
    const rGam = gam.map((g) => Math.exp(2 * lgamma(2 / g) - (lgamma(1 / g) + lgamma(3 / g))));
    let monotone = true;
    for (let i = 1; i < rGam.length; i++) if (!(rGam[i] >= rGam[i - 1])) monotone = false;
    grid = { gam, rGam, monotone };
  }
  return grid;
}

/**
 * Index of the first minimum of |rGam[i] − x| over the grid, i.e. what a left-to-right scan keeping strict
 * improvements (torch.argmin) returns; 0 when x is NaN (every distance NaN).
 * NOTE: r(γ) is increasing, so instead of scanning 9801 entries we bisect for the first rGam[p] ≥ x. Then
 * d(i) = |rGam[i] − x| is non-increasing for i < p and non-decreasing for i ≥ p (IEEE subtraction is monotone),
 * so the scan's answer is p or the first index of the run of equal d ending at p − 1, whichever d is smaller
 * (the earlier one on a tie). Same index as the scan, bit for bit; the scan remains the fallback if the table
 * were ever not monotone or x not finite.
 */
function nearestGridIndex(rGam: Float64Array, monotone: boolean, x: number): number {
  const n = rGam.length;
  if (!monotone || !Number.isFinite(x)) {
    let best = 0;
    let bestD = Math.abs(rGam[0] - x);
    if (Number.isNaN(bestD)) return 0;
    for (let i = 1; i < n; i++) {
      const d = Math.abs(rGam[i] - x);
      if (d < bestD) {
        bestD = d;
        best = i;
      }
    }
    return best;
  }
  let lo = 0;
  let hi = n; // first index with rGam[i] >= x lies in [lo, hi]
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rGam[mid] >= x) hi = mid;
    else lo = mid + 1;
  }
  const p = lo;
  if (p === 0) return 0;
  let l = p - 1;
  const dl = Math.abs(rGam[l] - x);
  while (l > 0 && Math.abs(rGam[l - 1] - x) === dl) l--;
  if (p === n) return l;
  return dl <= Math.abs(rGam[p] - x) ? l : p;
}

/** Moments of one block that the AGGD fit needs, each summed sequentially in index order. */
interface AggdSums {
  lSq: number;
  rSq: number;
  nl: number;
  nr: number;
  absSum: number;
  sqSum: number;
}

/** The AGGD fit from the block sums (pyiqa `estimate_aggd_param` after its reductions): [α, βₗ, βᵣ]. */
function aggdFromSums(m: AggdSums, count: number): [number, number, number] {
  const leftStd = Math.sqrt(m.lSq / m.nl);
  const rightStd = Math.sqrt(m.rSq / m.nr);
  const gh = leftStd / rightStd;
  const meanAbs = m.absSum / count;
  const rhat = (meanAbs * meanAbs) / (m.sqSum / count);
  const rhatnorm = (rhat * (gh * gh * gh + 1) * (gh + 1)) / ((gh * gh + 1) * (gh * gh + 1));
  const { gam, rGam, monotone } = aggdGrid();
  const alpha = gam[nearestGridIndex(rGam, monotone, rhatnorm)];
  const c = Math.sqrt(Math.exp(lgamma(1 / alpha) - lgamma(3 / alpha)));
  return [alpha, leftStd * c, rightStd * c];
}

function emptySums(): AggdSums {
  return { lSq: 0, rSq: 0, nl: 0, nr: 0, absSum: 0, sqSum: 0 };
}

/** pyiqa `estimate_aggd_param` on one block: [α, βₗ, βᵣ]. */
export function estimateAggd(v: Float64Array): [number, number, number] {
  const m = emptySums();
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    const s = x * x;
    if (x < 0) {
      m.lSq += s;
      m.nl++;
    } else if (x > 0) {
      m.rSq += s;
      m.nr++;
    }
    m.absSum += Math.abs(x);
    m.sqSum += s;
  }
  return aggdFromSums(m, v.length);
}

/**
 * Sums for the AGGD fit of block·roll(block, (sy, sx)) without materialising the product:
 * torch.roll(b, (sy, sx)) gives shifted[y, x] = b[(y − sy) mod bs, (x − sx) mod bs]; sy ∈ {0, 1}, sx ∈ {−1, 0, 1}.
 * Products are visited in row-major order, so every sum matches `estimateAggd(product)` bit for bit.
 */
function shiftedProductSums(block: Float64Array, bs: number, sy: number, sx: number): AggdSums {
  let lSq = 0;
  let rSq = 0;
  let nl = 0;
  let nr = 0;
  let absSum = 0;
  let sqSum = 0;
  for (let y = 0; y < bs; y++) {
    const ro = y * bs;
    const so = ((y - sy + bs) % bs) * bs;
    for (let x = 0; x < bs; x++) {
      let xs = x - sx;
      if (xs < 0) xs += bs;
      else if (xs >= bs) xs -= bs;
      const v = block[ro + x] * block[so + xs];
      const s = v * v;
      // branch-free (signs are random): adding 0 to a sum that is never −0 leaves it unchanged, bit for bit
      const neg = v < 0;
      const pos = v > 0;
      lSq += neg ? s : 0;
      nl += neg ? 1 : 0;
      rSq += pos ? s : 0;
      nr += pos ? 1 : 0;
      absSum += Math.abs(v);
      sqSum += s;
    }
  }
  return { lSq, rSq, nl, nr, absSum, sqSum };
}

const SHIFTS: readonly (readonly [number, number])[] = [
  [0, 1],
  [1, 0],
  [1, 1],
  [1, -1],
];

/** pyiqa `compute_feature` on one bs×bs block (row-major): 18 features written to `out` at `off`. */
export function blockFeatures(block: Float64Array, bs: number, out: Float64Array, off: number): void {
  const [a0, bl0, br0] = estimateAggd(block);
  out[off] = a0;
  out[off + 1] = (bl0 + br0) / 2;
  for (let s = 0; s < SHIFTS.length; s++) {
    const [sy, sx] = SHIFTS[s];
    const [a, bl, br] = aggdFromSums(shiftedProductSums(block, bs, sy, sx), bs * bs);
    const o = off + 2 + 4 * s;
    out[o] = a;
    out[o + 1] = (br - bl) * Math.exp(lgamma(2 / a) - lgamma(1 / a));
    out[o + 2] = bl;
    out[o + 3] = br;
  }
}

const MSCN_WINDOW = fspecialGaussian(7, 7 / 6);
const EPS64 = 2.220446049250313e-16;

/** pyiqa `normalize_img_with_gauss(img, 7, 7/6, C=1, padding='replicate')`. */
export function mscn(img: Float64Array, width: number, height: number): Float64Array {
  const mu = filterSameReplicate(img, width, height, MSCN_WINDOW, 7);
  const sq = new Float64Array(img.length);
  for (let i = 0; i < img.length; i++) sq[i] = img[i] * img[i];
  const ex2 = filterSameReplicate(sq, width, height, MSCN_WINDOW, 7);
  const out = new Float64Array(img.length);
  for (let i = 0; i < img.length; i++) {
    const sigma = Math.sqrt(Math.abs(ex2[i] - mu[i] * mu[i]) + EPS64);
    out[i] = (img[i] - mu[i]) / (sigma + 1);
  }
  return out;
}

/**
 * NIQE features of a luma plane (already rounded Y on [0, 255], cropped to nh·96 × nw·96): one row of 36 per
 * block, rows in pyiqa's column-major block order.
 */
export function niqeFeatures(y: Float64Array, width: number, height: number): { rows: number; feats: Float64Array } {
  const nh = Math.floor(height / NIQE_BLOCK);
  const nw = Math.floor(width / NIQE_BLOCK);
  const rows = nh * nw;
  const feats = new Float64Array(rows * NIQE_FEATURES);
  let img = y;
  let w = width;
  let h = height;
  for (let scale = 1; scale <= 2; scale++) {
    const m = mscn(img, w, h);
    const bs = NIQE_BLOCK / scale;
    const block = new Float64Array(bs * bs);
    for (let bx = 0; bx < nw; bx++) {
      for (let by = 0; by < nh; by++) {
        for (let yy = 0; yy < bs; yy++) block.set(m.subarray((by * bs + yy) * w + bx * bs, (by * bs + yy) * w + bx * bs + bs), yy * bs);
        blockFeatures(block, bs, feats, (bx * nh + by) * NIQE_FEATURES + (scale - 1) * 18);
      }
    }
    if (scale === 1) {
      const unit = new Float64Array(img.length);
      for (let i = 0; i < img.length; i++) unit[i] = img[i] / 255;
      const r = imresizeMatlab(unit, w, h, 0.5, true);
      img = r.data;
      for (let i = 0; i < img.length; i++) img[i] *= 255;
      w = r.width;
      h = r.height;
    }
  }
  return { rows, feats };
}

/** √(dᵀ pinv(A) d) for symmetric A (torch.linalg.pinv default cut-off: |λ| ≤ n·ε·max|λ| is dropped). */
function mahalanobisPinv(d: Float64Array, a: Float64Array, n: number): number {
  const { values, vectors } = symmetricEigenJacobi(a, n);
  let maxAbs = 0;
  for (const v of values) maxAbs = Math.max(maxAbs, Math.abs(v));
  const cut = n * EPS64 * maxAbs;
  let q = 0;
  for (let k = 0; k < n; k++) {
    if (!(Math.abs(values[k]) > cut)) continue;
    let p = 0;
    for (let i = 0; i < n; i++) p += vectors[k * n + i] * d[i];
    q += (p * p) / values[k];
  }
  return Math.sqrt(q);
}

/**
 * NIQE of a rounded luma plane (Y on [0, 255]).
 * @throws Error if the plane is smaller than 96×96 or no block has finite features
 */
export function niqeLuma(y: Float64Array, width: number, height: number, params: NiqePristineParams): number {
  if (width < NIQE_BLOCK || height < NIQE_BLOCK) {
    throw new Error(`image is ${width}×${height}; NIQE needs at least ${NIQE_BLOCK}×${NIQE_BLOCK} (one ${NIQE_BLOCK}-pixel block)`);
  }
  const ch = Math.floor(height / NIQE_BLOCK) * NIQE_BLOCK;
  const cw = Math.floor(width / NIQE_BLOCK) * NIQE_BLOCK;
  let plane = y;
  if (ch !== height || cw !== width) {
    plane = new Float64Array(cw * ch);
    for (let r = 0; r < ch; r++) plane.set(y.subarray(r * width, r * width + cw), r * cw);
  }
  const { rows, feats } = niqeFeatures(plane, cw, ch);
  const F = NIQE_FEATURES;
  // nan-mean per feature (pyiqa nanmean) and covariance over NaN-free rows (pyiqa nancov, n − 1)
  const mu = new Float64Array(F);
  const cnt = new Float64Array(F);
  const good: number[] = [];
  for (let r = 0; r < rows; r++) {
    let ok = true;
    for (let j = 0; j < F; j++) {
      const v = feats[r * F + j];
      if (Number.isNaN(v)) ok = false;
      else {
        mu[j] += v;
        cnt[j]++;
      }
    }
    if (ok) good.push(r);
  }
  for (let j = 0; j < F; j++) mu[j] /= cnt[j];
  if (good.length === 0) throw new Error('no 96×96 block has defined NIQE features (flat or saturated image)');
  const gm = new Float64Array(F);
  for (const r of good) for (let j = 0; j < F; j++) gm[j] += feats[r * F + j];
  for (let j = 0; j < F; j++) gm[j] /= good.length;
  const denom = good.length > 1 ? good.length - 1 : 1;
  const a = new Float64Array(F * F);
  for (let i = 0; i < F; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (const r of good) s += (feats[r * F + i] - gm[i]) * (feats[r * F + j] - gm[j]);
      const c = s / denom;
      a[i * F + j] = a[j * F + i] = (params.cov[i * F + j] + c) / 2;
    }
  }
  const d = new Float64Array(F);
  for (let j = 0; j < F; j++) d[j] = params.mu[j] - mu[j];
  const q = mahalanobisPinv(d, a, F);
  if (!Number.isFinite(q)) throw new Error('NIQE is not finite (some feature is NaN in every block)');
  return q;
}

/**
 * NIQE (pyiqa 'niqe' conventions) of an RGB image; lower is better.
 * @param what prefix for errors (metric id and sample)
 * @throws Error naming `what` for images smaller than 96×96
 */
export function niqe(img: RgbImage, params: NiqePristineParams, what = 'niqe'): number {
  try {
    return niqeLuma(yiqLuma255(img), img.width, img.height, params);
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
