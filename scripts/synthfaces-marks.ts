/**
 * How much of synthfaces-ref's identity marks (src/lib/server/datasets/synthfaces/face-svg.ts, `FaceMark`) survives
 * each degradation level. Run: `npx tsx scripts/synthfaces-marks.ts [--per-identity 2] [--json]`.
 *
 * For benchmark images (the first `--per-identity` images of each test identity, named as `refbench data synth`
 * names them, so each LQ is the benchmark's own), the face is rendered twice: with its marks and without
 * (`marks: []`), and both renders are degraded with the same parameters and noise (the image's key). The
 * difference of the two isolates what is left of each mark. Per mark, on the luma Y = 0.299R + 0.587G + 0.114B:
 * - contrast: the mean of Y(with) − Y(without) over the mark's footprint (the pixels within (size + 2)·scale px of
 *   its centre where the two HQ renders differ; marks are ≥ 4 px apart), HQ and LQ;
 * - retained: LQ contrast / HQ contrast;
 * - snr: |LQ contrast| / σ_Y, σ_Y = the image's noise σ carried to luma (σ·√(0.299² + 0.587² + 0.114²));
 * - PSNR of the 33 × 33 patch around the mark, with against without (HQ and LQ): ∞ when the mark vanished.
 * Prints one line per level (medians and the fraction of marks with snr ≥ 1 and with |LQ contrast| ≥ 2 levels).
 */
import { degradeImage, degradeWithPreset } from '../src/lib/server/degrade.ts';
import { SYNTHFACES_IDENTITY_SIZES, SYNTHFACES_LEVELS, SYNTHFACES_SEED } from '../src/lib/server/datasets/synthfaces.ts';
import { faceSvg, markCentres, sampleIdentity, sampleVariation } from '../src/lib/server/datasets/synthfaces/face-svg.ts';
import { renderSvg } from '../src/lib/server/image/io.ts';
import type { RgbImage } from '../src/lib/eval/types.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = Number(args[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${args[i + 1]}`);
  return v;
};
const perIdentity = opt('--per-identity', 2);
const asJson = args.includes('--json');

const luma = (im: RgbImage, p: number): number => 0.299 * im.data[3 * p] + 0.587 * im.data[3 * p + 1] + 0.114 * im.data[3 * p + 2];

/** The pixels within r of (x, y) where the HQ renders with and without marks differ. */
function footprint(hq: RgbImage, hq0: RgbImage, x: number, y: number, r: number): number[] {
  const ps: number[] = [];
  for (let j = Math.floor(y - r); j <= Math.ceil(y + r); j++) {
    for (let i = Math.floor(x - r); i <= Math.ceil(x + r); i++) {
      if ((i - x) ** 2 + (j - y) ** 2 > r * r || i < 0 || j < 0 || i >= hq.width || j >= hq.height) continue;
      const p = j * hq.width + i;
      if ([0, 1, 2].some((c) => hq.data[3 * p + c] !== hq0.data[3 * p + c])) ps.push(p);
    }
  }
  return ps;
}

/** Mean of Y(a) − Y(b) over the pixels `ps`. */
function contrast(a: RgbImage, b: RgbImage, ps: readonly number[]): number {
  let s = 0;
  for (const p of ps) s += luma(a, p) - luma(b, p);
  return s / ps.length;
}

/** PSNR (RGB, 8-bit) of the (2h+1)² patch at (x, y), a against b; Infinity when equal. */
function patchPsnr(a: RgbImage, b: RgbImage, x: number, y: number, h = 16): number {
  let se = 0;
  let n = 0;
  for (let j = Math.round(y) - h; j <= Math.round(y) + h; j++) {
    for (let i = Math.round(x) - h; i <= Math.round(x) + h; i++) {
      if (i < 0 || j < 0 || i >= a.width || j >= a.height) continue;
      for (let c = 0; c < 3; c++) se += (a.data[3 * (j * a.width + i) + c] - b.data[3 * (j * a.width + i) + c]) ** 2;
      n += 3;
    }
  }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * n) / se);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Row { level: string; image: string; kind: string; hq: number; lq: number; retained: number; snr: number; psnrHq: number; psnrLq: number; noise: number; blur: number; scale: number }
const rows: Row[] = [];
let idx = 0;
for (let i = 0; i < SYNTHFACES_IDENTITY_SIZES.length; i++) {
  const id = sampleIdentity(String(i));
  const bare = { ...id, marks: [] };
  for (let k = 0; k < SYNTHFACES_IDENTITY_SIZES[i]; k++) {
    const stem = String(idx++).padStart(5, '0');
    if (k >= perIdentity) continue;
    const v = sampleVariation(`${i}|${k}`);
    const hq = await renderSvg(faceSvg(id, v));
    const hq0 = await renderSvg(faceSvg(bare, v));
    const centres = markCentres(id, v);
    for (const level of SYNTHFACES_LEVELS) {
      const { lq, params } = await degradeWithPreset(hq, level, SYNTHFACES_SEED, stem);
      const lq0 = await degradeImage(hq0, params);
      const noise = params.noiseSigma * Math.hypot(0.299, 0.587, 0.114);
      for (const [m, mark] of id.marks.entries()) {
        const c = centres[m];
        const ps = footprint(hq, hq0, c.x, c.y, (mark.size + 2) * c.scale);
        if (ps.length === 0) throw new Error(`${stem}: mark ${m} (${mark.kind}) is not visible in the HQ render at (${c.x.toFixed(1)}, ${c.y.toFixed(1)})`);
        const chq = contrast(hq, hq0, ps);
        const clq = contrast(lq, lq0, ps);
        rows.push({
          level, image: stem, kind: mark.kind, hq: chq, lq: clq, retained: clq / chq, snr: Math.abs(clq) / Math.max(noise, 1e-9),
          psnrHq: patchPsnr(hq, hq0, c.x, c.y), psnrLq: patchPsnr(lq, lq0, c.x, c.y), noise,
          blur: Math.max(params.kernel.sigmaX, params.kernel.sigmaY), scale: params.scale,
        });
      }
    }
  }
}

if (asJson) {
  for (const r of rows) console.log(JSON.stringify(r));
} else {
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '∞');
  const images = new Set(rows.map((r) => r.image)).size;
  console.log(`marks of ${images} benchmark images (the first ${perIdentity} of each of the ${SYNTHFACES_IDENTITY_SIZES.length} test identities)`);
  console.log('level     kind   marks  |HQ contrast|  |LQ contrast|  retained  σ_Y   snr≥1    |LQ|≥2   PSNR HQ patch  PSNR LQ patch   (medians; luma levels)');
  for (const level of SYNTHFACES_LEVELS) {
    for (const kind of ['all', 'mole', 'scar']) {
      const rs = rows.filter((r) => r.level === level && (kind === 'all' || r.kind === kind));
      const frac = (p: (r: Row) => boolean): string => `${rs.filter(p).length}/${rs.length}`;
      console.log(
        `${level.padEnd(9)} ${kind.padEnd(5)} ${String(rs.length).padStart(6)}  ${f(median(rs.map((r) => Math.abs(r.hq)))).padStart(13)}  ${f(median(rs.map((r) => Math.abs(r.lq)))).padStart(13)}  ` +
          `${f(median(rs.map((r) => r.retained)), 3).padStart(8)}  ${f(median(rs.map((r) => r.noise)), 1).padStart(4)}  ${frac((r) => r.snr >= 1).padStart(7)}  ${frac((r) => Math.abs(r.lq) >= 2).padStart(7)}  ` +
          `${f(median(rs.map((r) => r.psnrHq)), 1).padStart(14)}  ${f(median(rs.map((r) => r.psnrLq)), 1).padStart(13)}`,
      );
    }
  }
}
