/**
 * @file `cv2.filter2D(src, -1, kernel)` semantics on float images (runtime-neutral): correlation (not
 * convolution), anchor at the kernel centre, delta 0, border `BORDER_REFLECT_101` (…, 2, 1 | 0, 1, 2, … | n−2,
 * n−3, …). Every channel is filtered with the same kernel.
 *
 * For speed, the filtered image can be evaluated at a subset of rows × columns only (the degradation pipeline
 * downsamples right after blurring, so it needs just the rows/columns INTER_LINEAR reads), and isotropic
 * kernels take a separable path.
 */
import type { FloatImage } from './float-image.ts';
import type { Kernel } from './kernels.ts';
import { symmetricEigenJacobi } from '../metrics/functional/linalg.ts';

/** cv2 `BORDER_REFLECT_101` index mapping. */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  while (i < 0 || i >= n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * n - 2 - i;
  }
  return i;
}

/** Pads `img` by `py` rows and `px` columns on each side with BORDER_REFLECT_101. */
function padReflect101(img: FloatImage, px: number, py: number): FloatImage {
  const { width: w, height: h, channels: ch } = img;
  const pw = w + 2 * px;
  const ph = h + 2 * py;
  const out = new Float32Array(pw * ph * ch);
  const colMap = new Int32Array(pw);
  for (let x = 0; x < pw; x++) colMap[x] = reflect101(x - px, w);
  for (let y = 0; y < ph; y++) {
    const sy = reflect101(y - py, h);
    const srow = sy * w * ch;
    const drow = y * pw * ch;
    for (let x = 0; x < pw; x++) {
      const s = srow + colMap[x] * ch;
      const d = drow + x * ch;
      for (let c = 0; c < ch; c++) out[d + c] = img.data[s + c];
    }
  }
  return { width: pw, height: ph, channels: ch, data: out };
}

/**
 * Radii (rx, ry) of the smallest centred window holding every kernel entry > relTol · max. With relTol = 0
 * the whole kernel is kept (exact cv2 semantics); the pipeline uses 1e-12, an error < 1e-9 per pixel.
 */
export function kernelSupport(kernel: Kernel, relTol: number): { rx: number; ry: number } {
  const { size, data } = kernel;
  const half = (size - 1) / 2;
  if (relTol <= 0) return { rx: half, ry: half };
  let max = 0;
  for (const v of data) max = Math.max(max, Math.abs(v));
  const thr = relTol * max;
  let rx = 0;
  let ry = 0;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (Math.abs(data[r * size + c]) > thr) {
        rx = Math.max(rx, Math.abs(c - half));
        ry = Math.max(ry, Math.abs(r - half));
      }
    }
  }
  return { rx, ry };
}

function allIndices(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Number of kernel entries with |k| > relTol · max|k| (all of them when relTol ≤ 0): `filter2d`'s taps per pixel. */
export function kernelTapCount(kernel: Kernel, relTol: number): number {
  if (relTol <= 0) return kernel.data.length;
  let max = 0;
  for (const v of kernel.data) max = Math.max(max, Math.abs(v));
  let n = 0;
  for (const v of kernel.data) if (Math.abs(v) > relTol * max) n++;
  return n;
}

/**
 * Filters `img` with `kernel` and returns the result at rows `rows` × columns `cols` only (a compact
 * `cols.length × rows.length` image). Defaults: every row and column, i.e. `cv2.filter2D` exactly.
 * @param relTol kernel entries with |k| ≤ relTol · max|k| are skipped (0: none; the pipeline uses 1e-12, an
 *   error below 1e-9 per pixel), which makes thin anisotropic kernels cheap.
 */
export function filter2d(
  img: FloatImage,
  kernel: Kernel,
  rows: Int32Array = allIndices(img.height),
  cols: Int32Array = allIndices(img.width),
  relTol = 0,
): FloatImage {
  const { channels: ch } = img;
  const size = kernel.size;
  const half = (size - 1) / 2;
  const { rx, ry } = kernelSupport(kernel, relTol);
  const pad = padReflect101(img, rx, ry);
  const pw = pad.width;
  const pd = pad.data;
  let max = 0;
  for (const v of kernel.data) max = Math.max(max, Math.abs(v));
  // Sparse taps: offset into the padded image relative to the window's top-left, and weight.
  const offs: number[] = [];
  const wts: number[] = [];
  for (let r = -ry; r <= ry; r++) {
    for (let c = -rx; c <= rx; c++) {
      const v = kernel.data[(r + half) * size + (c + half)];
      if (relTol > 0 && Math.abs(v) <= relTol * max) continue;
      offs.push(((r + ry) * pw + (c + rx)) * ch);
      wts.push(v);
    }
  }
  const off = Int32Array.from(offs);
  const wt = Float64Array.from(wts);
  const nt = off.length;
  const out = new Float32Array(rows.length * cols.length * ch);
  for (let oy = 0; oy < rows.length; oy++) {
    const rowBase = rows[oy] * pw; // the window's top row in the padded image is the output row itself
    for (let ox = 0; ox < cols.length; ox++) {
      const base = (rowBase + cols[ox]) * ch;
      const o = (oy * cols.length + ox) * ch;
      if (ch === 3) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        for (let t = 0; t < nt; t++) {
          const p = base + off[t];
          const kv = wt[t];
          a0 += kv * pd[p];
          a1 += kv * pd[p + 1];
          a2 += kv * pd[p + 2];
        }
        out[o] = a0;
        out[o + 1] = a1;
        out[o + 2] = a2;
      } else {
        for (let c = 0; c < ch; c++) {
          let acc = 0;
          for (let t = 0; t < nt; t++) acc += wt[t] * pd[base + off[t] + c];
          out[o + c] = acc;
        }
      }
    }
  }
  return { width: cols.length, height: rows.length, channels: ch, data: out };
}

/** A sum of separable terms K ≈ Σᵢ uᵢ wᵢᵀ (uᵢ over kernel rows, wᵢ over kernel columns). */
export interface SeparableTerms {
  readonly size: number;
  readonly u: readonly Float64Array[];
  readonly w: readonly Float64Array[];
}

/**
 * Low-rank separable form of `kernel` by eigen-decomposing K Kᵀ (`symmetricEigenJacobi`, linalg.ts) and projecting:
 * K_k = U_k U_kᵀ K, so uᵢ = eigenvector i and wᵢ = Kᵀ uᵢ. Terms are added in decreasing eigenvalue order until
 * the largest entry of K − K_k is ≤ `absTol`; returns undefined if that needs more than `maxRank` terms.
 */
export function lowRankKernel(kernel: Kernel, absTol = 1e-9, maxRank = kernel.size): SeparableTerms | undefined {
  const n = kernel.size;
  const K = kernel.data;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let c = 0; c < n; c++) s += K[i * n + c] * K[j * n + c];
      A[i * n + j] = s;
      A[j * n + i] = s;
    }
  }
  // NOTE: 30 sweeps, 1e-30 and 1e-300 are this split's own stopping rules (the degraded images' goldens pin them).
  const { values, vectors } = symmetricEigenJacobi(A, n, { maxSweeps: 30, offTolerance: 1e-30, minPivot: 1e-300 });
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a]);
  const residual = Float64Array.from(K);
  const u: Float64Array[] = [];
  const w: Float64Array[] = [];
  let maxAbs = Infinity;
  for (const e of order) {
    if (u.length >= maxRank) break;
    const ui = new Float64Array(n);
    ui.set(vectors.subarray(e * n, (e + 1) * n));
    const wi = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      let s = 0;
      for (let r = 0; r < n; r++) s += K[r * n + c] * ui[r];
      wi[c] = s;
    }
    u.push(ui);
    w.push(wi);
    maxAbs = 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        residual[r * n + c] -= ui[r] * wi[c];
        maxAbs = Math.max(maxAbs, Math.abs(residual[r * n + c]));
      }
    }
    if (maxAbs <= absTol) return { size: n, u, w };
  }
  return undefined;
}

/**
 * Filters with a sum of separable terms (same border and subset semantics as `filter2d`): per term a vertical
 * pass with uᵢ on the needed rows, then a horizontal pass with wᵢ on the needed columns.
 */
export function filterSeparableTerms(
  img: FloatImage,
  terms: SeparableTerms,
  rows: Int32Array = allIndices(img.height),
  cols: Int32Array = allIndices(img.width),
): FloatImage {
  const { channels: ch } = img;
  const taps = terms.size;
  const r = (taps - 1) / 2;
  const pad = padReflect101(img, r, r);
  const pw = pad.width;
  const pd = pad.data;
  const rowLen = pw * ch;
  // Planar copy of the padded image: planes[(c * paddedHeight + y) * pw + x].
  const planes = new Float32Array(pd.length);
  for (let i = 0, n = pw * pad.height; i < n; i++) for (let c = 0; c < ch; c++) planes[c * n + i] = pd[i * ch + c];
  const acc = new Float64Array(rows.length * cols.length * ch);
  // Vertical result of one padded row, planar per channel (tmp[c * pw + x]) so the horizontal taps are contiguous.
  const tmp = new Float64Array(rowLen);
  for (let t = 0; t < terms.u.length; t++) {
    const u = terms.u[t];
    const w = terms.w[t];
    for (let oy = 0; oy < rows.length; oy++) {
      const y = rows[oy];
      tmp.fill(0);
      for (let k = 0; k < taps; k++) {
        const kv = u[k];
        for (let c = 0; c < ch; c++) {
          const dst = c * pw;
          const src = (c * pad.height + y + k) * pw;
          for (let x = 0; x < pw; x++) tmp[dst + x] += kv * planes[src + x];
        }
      }
      const ob = oy * cols.length * ch;
      for (let c = 0; c < ch; c++) {
        const plane = c * pw;
        for (let ox = 0; ox < cols.length; ox++) {
          const xb = plane + cols[ox];
          let s = 0;
          for (let k = 0; k < taps; k++) s += w[k] * tmp[xb + k];
          acc[ob + ox * ch + c] += s;
        }
      }
    }
  }
  return { width: cols.length, height: rows.length, channels: ch, data: Float32Array.from(acc) };
}

/**
 * Separable filtering with K = g gᵀ (isotropic Gaussian), same border and subset semantics as `filter2d`.
 * @param g odd-length 1-D factor, used for both rows and columns.
 */
export function filterSeparable(
  img: FloatImage,
  g: Float64Array,
  rows: Int32Array = allIndices(img.height),
  cols: Int32Array = allIndices(img.width),
): FloatImage {
  return filterSeparableTerms(img, { size: g.length, u: [g], w: [g] }, rows, cols);
}
