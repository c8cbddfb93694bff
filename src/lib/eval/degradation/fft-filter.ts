/**
 * @file `cv2.filter2D` (REFLECT_101, correlation, centred anchor) computed through a 2-D FFT, for dense kernels
 * on many output pixels, where direct or low-rank evaluation costs size² or rank·2·size multiply-adds per pixel.
 * Runtime-neutral; float64 throughout (error ~1e-12 against direct evaluation).
 *
 * Method: pad the image by the kernel radius with BORDER_REFLECT_101 (P), zero-embed P and the kernel k in an
 * N×N grid (N a power of two ≥ padded size + kernel size − 1, so no circular wrap reaches the valid region), and
 * take out = IFFT(FFT(P) · conj(FFT(k))), i.e. out(y, x) = Σ k(r, c) P(y + r, x + c). Two real channels ride in
 * one complex transform (R + iG), since a real kernel keeps real and imaginary parts apart.
 */
import type { FloatImage } from './float-image.ts';
import { reflect101 } from './filter2d.ts';
import type { Kernel } from './kernels.ts';

interface FftPlan {
  readonly n: number;
  readonly rev: Uint32Array;
  readonly cos: Float64Array;
  readonly sin: Float64Array;
}

const PLANS = new Map<number, FftPlan>();

function plan(n: number): FftPlan {
  let p = PLANS.get(n);
  if (!p) {
    const bits = Math.log2(n);
    const rev = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      rev[i] = r;
    }
    const cos = new Float64Array(n / 2);
    const sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      cos[i] = Math.cos((2 * Math.PI * i) / n);
      sin[i] = Math.sin((2 * Math.PI * i) / n);
    }
    p = { n, rev, cos, sin };
    PLANS.set(n, p);
  }
  return p;
}

/** In-place radix-2 FFT of (re, im)[off + k·stride], k < n; `inverse` uses e^{+i…} and no 1/n scaling. */
function fft1d(re: Float64Array, im: Float64Array, p: FftPlan, inverse: boolean, bufRe: Float64Array, bufIm: Float64Array, off: number, stride: number): void {
  const n = p.n;
  for (let i = 0; i < n; i++) {
    const j = off + p.rev[i] * stride;
    bufRe[i] = re[j];
    bufIm[i] = im[j];
  }
  const sgn = inverse ? 1 : -1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = p.cos[k * step];
        const wi = sgn * p.sin[k * step];
        const a = start + k;
        const b = a + half;
        const tr = bufRe[b] * wr - bufIm[b] * wi;
        const ti = bufRe[b] * wi + bufIm[b] * wr;
        bufRe[b] = bufRe[a] - tr;
        bufIm[b] = bufIm[a] - ti;
        bufRe[a] += tr;
        bufIm[a] += ti;
      }
    }
  }
  for (let i = 0; i < n; i++) {
    const j = off + i * stride;
    re[j] = bufRe[i];
    im[j] = bufIm[i];
  }
}

/** 2-D FFT of an n×n grid whose rows ≥ `usedRows` are zero (their row transforms are skipped). */
function fft2dForward(re: Float64Array, im: Float64Array, p: FftPlan, usedRows: number, bufRe: Float64Array, bufIm: Float64Array): void {
  const n = p.n;
  for (let y = 0; y < usedRows; y++) fft1d(re, im, p, false, bufRe, bufIm, y * n, 1);
  for (let x = 0; x < n; x++) fft1d(re, im, p, false, bufRe, bufIm, x, n);
}

/** Smallest power of two ≥ m. */
function pow2(m: number): number {
  let n = 1;
  while (n < m) n <<= 1;
  return n;
}

/** Multiply-add estimate of `filterFft` (for choosing between evaluation strategies). */
export function fftFilterCost(width: number, height: number, kernelSize: number, channels = 3): number {
  const n = pow2(Math.max(width, height) + 2 * (kernelSize - 1));
  const oneD = 2 * n * Math.log2(n); // ≈ butterflies × 4 multiply-adds
  const transforms = Math.ceil(channels / 2);
  return oneD * (transforms * 2 * (2 * n) + n + kernelSize);
}

/**
 * Same result as `filter2d(img, kernel, rows, cols)` (every kernel tap, exact up to float64 rounding).
 * @returns a compact `cols.length × rows.length` image.
 */
export function filterFft(img: FloatImage, kernel: Kernel, rows: Int32Array, cols: Int32Array): FloatImage {
  const { width: w, height: h, channels: ch } = img;
  const ks = kernel.size;
  const rad = (ks - 1) / 2;
  const pw = w + 2 * rad;
  const ph = h + 2 * rad;
  const n = pow2(Math.max(pw, ph) + ks - 1);
  const p = plan(n);
  const bufRe = new Float64Array(n);
  const bufIm = new Float64Array(n);
  // Kernel spectrum.
  const kRe = new Float64Array(n * n);
  const kIm = new Float64Array(n * n);
  for (let r = 0; r < ks; r++) for (let c = 0; c < ks; c++) kRe[r * n + c] = kernel.data[r * ks + c];
  fft2dForward(kRe, kIm, p, ks, bufRe, bufIm);
  const colMap = new Int32Array(pw);
  for (let x = 0; x < pw; x++) colMap[x] = reflect101(x - rad, w);
  const out = new Float32Array(rows.length * cols.length * ch);
  const maxRow = rows.length ? Math.max(...rows) + 1 : 0;
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let c0 = 0; c0 < ch; c0 += 2) {
    const c1 = c0 + 1 < ch ? c0 + 1 : -1;
    re.fill(0);
    im.fill(0);
    for (let y = 0; y < ph; y++) {
      const srow = reflect101(y - rad, h) * w;
      for (let x = 0; x < pw; x++) {
        const s = (srow + colMap[x]) * ch;
        re[y * n + x] = img.data[s + c0];
        if (c1 >= 0) im[y * n + x] = img.data[s + c1];
      }
    }
    fft2dForward(re, im, p, ph, bufRe, bufIm);
    // Multiply by conj(K̂) (correlation).
    for (let i = 0; i < n * n; i++) {
      const ar = re[i];
      const ai = im[i];
      const br = kRe[i];
      const bi = -kIm[i];
      re[i] = ar * br - ai * bi;
      im[i] = ar * bi + ai * br;
    }
    // Inverse: all columns, then only the rows we read.
    for (let x = 0; x < n; x++) fft1d(re, im, p, true, bufRe, bufIm, x, n);
    const scale = 1 / (n * n);
    for (let oy = 0; oy < rows.length; oy++) {
      const y = rows[oy];
      if (y >= maxRow) continue;
      fft1d(re, im, p, true, bufRe, bufIm, y * n, 1);
      for (let ox = 0; ox < cols.length; ox++) {
        const idx = y * n + cols[ox];
        const o = (oy * cols.length + ox) * ch;
        out[o + c0] = re[idx] * scale;
        if (c1 >= 0) out[o + c1] = im[idx] * scale;
      }
    }
  }
  return { width: cols.length, height: rows.length, channels: ch, data: out };
}
