/**
 * @file Procedural cartoon faces as SVG (synthfaces-ref). An identity seed fixes the face shape, skin tone, eye
 * shape/spacing/colour, nose, brows, ears, hair style and colour, and a few small skin marks (moles, a scar) at
 * identity-fixed face positions; an image seed varies pose (in-plane rotation,
 * a small yaw shift, scale, offset), expression (mouth curve/opening, brow raise), a lighting gradient and the
 * background colour/pattern. Pure string building: the same seeds always give the same SVG text.
 *
 * `faceLabelSvg` draws the same shapes, in the same order and under the same transform, filled with
 * CelebAMask-HQ class indices as grey levels (`#0a0a0a` = class 10) with antialiasing off
 * (`shape-rendering="crispEdges"`) and no gradients, patterns or opacity, so every rendered pixel is an exact
 * class id aligned with the HQ image (the face-parsing map fLPIPS needs).
 */
import { SeededRng } from '../../../eval/datasets/seeded-rng.ts';

/** Identity-level features (stable across an identity's images). */
export interface FaceIdentity {
  readonly skin: string;
  readonly skinShade: string;
  readonly faceRx: number;
  readonly faceRy: number;
  readonly jaw: number;
  readonly eyeDx: number;
  readonly eyeDy: number;
  readonly eyeW: number;
  readonly eyeH: number;
  readonly eyeTilt: number;
  readonly iris: string;
  readonly irisR: number;
  readonly browThick: number;
  readonly browLen: number;
  readonly browArch: number;
  readonly noseLen: number;
  readonly noseW: number;
  readonly mouthW: number;
  readonly lip: string;
  readonly hair: string;
  readonly hairStyle: 0 | 1 | 2 | 3;
  readonly earR: number;
  /** Small identity-fixed skin marks (see `FaceMark`); drawn in every image of the identity. */
  readonly marks: readonly FaceMark[];
}

/**
 * A small skin mark, fixed per identity (issue 16: a detail that severe degradation erases and only the
 * references still show; measured in docs/training.md). Position in face coordinates: pixels (at 512) from the
 * frontal face's centre (the eyes' mid column, the face ellipse's centre row). A posed image maps it as the eyes
 * and nose are mapped (x squashed and shifted by the yaw, then the image's rotation/scale/offset). Marks lie
 * on class-2 skin only (cheeks below the eyes, the chin), so the label map does not change: they are skin, as
 * the blush is.
 */
export interface FaceMark {
  /** `mole`: a dark disc; `scar`: a short stroke, 2 px wide. */
  readonly kind: 'mole' | 'scar';
  readonly x: number;
  readonly y: number;
  /** Mole radius, or half the scar's length (px at 512). */
  readonly size: number;
  /** Scar direction in degrees (0 for a mole). */
  readonly angle: number;
  /** The skin colour darkened (mole) or tinted (scar: red on light skin, pale on dark skin). */
  readonly colour: string;
}

/** Per-image variation. */
export interface FaceVariation {
  readonly rotDeg: number;
  readonly yaw: number;
  readonly scale: number;
  readonly dx: number;
  readonly dy: number;
  readonly smile: number;
  readonly mouthOpen: number;
  readonly browRaise: number;
  readonly lightAngle: number;
  readonly lightStrength: number;
  readonly bg: string;
  readonly bg2: string;
  readonly pattern: 0 | 1 | 2 | 3;
}

const SKINS = ['#f6d7c3', '#eec1a0', '#e0ac85', '#c98e68', '#a86f4c', '#8a5636', '#6b4028', '#f1c9a5', '#d9a27c', '#b07a55'];
const IRIS = ['#5b3a1e', '#2f6fa8', '#3f7d4a', '#7a7f86', '#8a6a2d', '#1e1712'];
const HAIR = ['#1b1410', '#3b2416', '#6a4424', '#a0743f', '#d8b46a', '#8c2f1c', '#9a9a9a', '#2d2d3a'];
const LIPS = ['#b5545a', '#c46a6a', '#9c4a4f', '#d07d7d', '#8e3f44'];

const f = (x: number): string => x.toFixed(2);

/** CelebAMask-HQ class indices (docs/protocol.md §5.3) of the parts the renderer draws. "Right" is the person's right
 * (the image's left). Glasses (15) are never drawn. */
export const FACE_LABELS = Object.freeze({
  background: 0,
  neck: 1,
  skin: 2,
  cloth: 3,
  rEar: 4,
  lEar: 5,
  rBrow: 6,
  lBrow: 7,
  rEye: 8,
  lEye: 9,
  nose: 10,
  mouth: 11,
  lowerLip: 12,
  upperLip: 13,
  hair: 14,
});

/** Colour of class `k` in a label SVG: grey level k. */
const labelColour = (k: number): string => `#${k.toString(16).padStart(2, '0').repeat(3)}`;

/**
 * Picks an image colour or, when drawing the label map, the class colour of the part.
 */
type Paint = (imageColour: string, label: number) => string;
const imagePaint: Paint = (c) => c;
const labelPaint: Paint = (_c, k) => labelColour(k);

/** Mixes hex colour `c` towards rgb `to` by `t` ∈ [0, 1]. */
function mix(c: string, to: readonly [number, number, number], t: number): string {
  const rgb = [1, 3, 5].map((o) => parseInt(c.slice(o, o + 2), 16));
  return `#${rgb.map((v, i) => Math.round(v + (to[i] - v) * t).toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Samples an identity's marks from their own stream (`SeededRng('synthfaces|marks|<seed>')`), so the other
 * identity features keep their values. 2–4 moles (radius 2.5–4.5 px, the skin darkened by 30–45 %, and by at least
 * 28 luma levels) and, with probability 1/2, one scar (7–12 px long, 2 px wide, the skin mixed 35–50 % towards a
 * dull red on light skin, towards a pale pink on dark skin). Regions (bounds derived from
 * the drawing in `faceMarkup`, for every pose `sampleVariation` can give):
 * - cheeks: 32 px ≤ |x| ≤ 0.6·faceRx (the nose lines stay within 23 px of the centre; the face outline is at least
 *   0.85·faceRx·0.92 px from its centre here, which leaves room for the 16 px yaw shift), from 14 px below the
 *   eye's lower edge to 14 px above the mouth line;
 * - chin (at most one mark): |x| ≤ 0.14·faceRx, from 30 px below the mouth line (an open mouth reaches ≤ 22 px)
 *   to 18 px above the chin's lowest point.
 * Marks keep 4 px apart (rejection sampling, at most 50 draws each).
 */
function sampleMarks(seed: string, g: Pick<FaceIdentity, 'skin' | 'faceRx' | 'faceRy' | 'eyeDy' | 'eyeH'>): FaceMark[] {
  const r = new SeededRng(`synthfaces|marks|${seed}`);
  const mouthY = g.faceRy * 0.5;
  const cheekTop = g.eyeDy + g.eyeH + 14;
  const cheekBottom = mouthY - 14;
  const marks: FaceMark[] = [];
  let chin = false;
  const place = (radius: number, chinOk: boolean): [number, number] | undefined => {
    for (let tries = 0; tries < 50; tries++) {
      let x: number;
      let y: number;
      const onChin = chinOk && !chin && r.uniform() < 0.3;
      if (onChin) {
        x = r.range(-0.14, 0.14) * g.faceRx;
        y = r.range(mouthY + 30 + radius, g.faceRy - 18 - radius);
      } else {
        x = (r.uniform() < 0.5 ? -1 : 1) * r.range(32 + radius, 0.6 * g.faceRx - radius);
        y = r.range(cheekTop + radius, cheekBottom - radius);
      }
      if (marks.every((m) => Math.hypot(m.x - x, m.y - y) >= m.size + radius + 4)) {
        chin ||= onChin;
        return [x, y];
      }
    }
    return undefined;
  };
  const rgb = [1, 3, 5].map((o) => parseInt(g.skin.slice(o, o + 2), 16));
  const lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
  const moles = r.int(2, 4);
  for (let k = 0; k < moles; k++) {
    const size = r.range(2.5, 4.5);
    // At least 28 luma levels below the skin (dark skins would otherwise get < 25).
    const darken = Math.max(r.range(0.3, 0.45), Math.min(0.6, 28 / lum));
    const at = place(size, true);
    if (at) marks.push({ kind: 'mole', x: at[0], y: at[1], size, angle: 0, colour: mix(g.skin, [0, 0, 0], darken) });
  }
  if (r.uniform() < 0.5) {
    const size = r.range(3.5, 6);
    const angle = r.range(-70, 70);
    const tint = r.range(0.35, 0.5);
    const at = place(size + 1, false);
    // A dull red scar on light skin, a pale one on dark skin: 17–64 luma levels from the skin over the 10 skins.
    const to: [number, number, number] = lum > 140 ? [170, 80, 80] : [235, 190, 180];
    if (at) marks.push({ kind: 'scar', x: at[0], y: at[1], size, angle, colour: mix(g.skin, to, tint) });
  }
  return marks;
}

function hsl(rng: SeededRng, sat: [number, number], light: [number, number]): string {
  return `hsl(${f(rng.range(0, 360))},${f(rng.range(sat[0], sat[1]))}%,${f(rng.range(light[0], light[1]))}%)`;
}

/** Samples an identity from `SeededRng('synthfaces|identity|<seed>')` (its marks: `sampleMarks`). */
export function sampleIdentity(seed: string): FaceIdentity {
  const r = new SeededRng(`synthfaces|identity|${seed}`);
  const skinIdx = r.int(0, SKINS.length - 1);
  const id = {
    skin: SKINS[skinIdx],
    skinShade: SKINS[Math.min(SKINS.length - 1, skinIdx + 1)],
    faceRx: r.range(112, 145),
    faceRy: r.range(150, 182),
    jaw: r.range(0.75, 1.0),
    eyeDx: r.range(44, 66),
    eyeDy: r.range(-30, -8),
    eyeW: r.range(20, 32),
    eyeH: r.range(8, 15),
    eyeTilt: r.range(-8, 8),
    iris: r.pick(IRIS),
    irisR: r.range(5, 8),
    browThick: r.range(4, 10),
    browLen: r.range(28, 44),
    browArch: r.range(2, 12),
    noseLen: r.range(28, 52),
    noseW: r.range(12, 26),
    mouthW: r.range(38, 66),
    lip: r.pick(LIPS),
    hair: r.pick(HAIR),
    hairStyle: r.int(0, 3) as 0 | 1 | 2 | 3,
    earR: r.range(16, 26),
  };
  return { ...id, marks: sampleMarks(seed, id) };
}

/** Samples one image's variation from `SeededRng('synthfaces|image|<seed>')`. */
export function sampleVariation(seed: string): FaceVariation {
  const r = new SeededRng(`synthfaces|image|${seed}`);
  return {
    rotDeg: r.range(-12, 12),
    yaw: r.range(-1, 1),
    scale: r.range(0.88, 1.06),
    dx: r.range(-18, 18),
    dy: r.range(-14, 14),
    smile: r.range(-0.4, 1),
    mouthOpen: r.uniform() < 0.35 ? r.range(0.2, 1) : 0,
    browRaise: r.range(-5, 9),
    lightAngle: r.range(0, 360),
    lightStrength: r.range(0.08, 0.35),
    bg: hsl(r, [15, 60], [35, 80]),
    bg2: hsl(r, [15, 60], [25, 85]),
    pattern: r.int(0, 3) as 0 | 1 | 2 | 3,
  };
}

function background(v: FaceVariation, size: number): string {
  const base = `<rect width="${size}" height="${size}" fill="${v.bg}"/>`;
  switch (v.pattern) {
    case 1:
      return `${base}<defs><pattern id="p" width="48" height="48" patternUnits="userSpaceOnUse" patternTransform="rotate(${f(v.lightAngle / 4)})"><rect width="24" height="48" fill="${v.bg2}" opacity="0.55"/></pattern></defs><rect width="${size}" height="${size}" fill="url(#p)"/>`;
    case 2:
      return `${base}<defs><pattern id="p" width="40" height="40" patternUnits="userSpaceOnUse"><circle cx="20" cy="20" r="9" fill="${v.bg2}" opacity="0.6"/></pattern></defs><rect width="${size}" height="${size}" fill="url(#p)"/>`;
    case 3:
      return `${base}<defs><radialGradient id="p" cx="0.3" cy="0.25" r="0.9"><stop offset="0" stop-color="${v.bg2}"/><stop offset="1" stop-color="${v.bg}"/></radialGradient></defs><rect width="${size}" height="${size}" fill="url(#p)"/>`;
    default:
      return base;
  }
}

function hairBack(id: FaceIdentity, cx: number, cy: number, paint: Paint): string {
  const { faceRx: rx, faceRy: ry } = id;
  const hair = paint(id.hair, FACE_LABELS.hair);
  switch (id.hairStyle) {
    case 1: // long
      return `<path d="M ${f(cx - rx - 22)} ${f(cy - ry * 0.3)} Q ${f(cx - rx - 40)} ${f(cy + ry * 1.1)} ${f(cx - rx * 0.4)} ${f(cy + ry * 1.25)} L ${f(cx + rx * 0.4)} ${f(cy + ry * 1.25)} Q ${f(cx + rx + 40)} ${f(cy + ry * 1.1)} ${f(cx + rx + 22)} ${f(cy - ry * 0.3)} Z" fill="${hair}"/>`;
    case 2: // bun
      return `<circle cx="${f(cx)}" cy="${f(cy - ry - 38)}" r="${f(rx * 0.42)}" fill="${hair}"/>`;
    default:
      return '';
  }
}

function hairTop(id: FaceIdentity, cx: number, cy: number, paint: Paint): string {
  const { faceRx: rx, faceRy: ry } = id;
  const hair = paint(id.hair, FACE_LABELS.hair);
  if (id.hairStyle === 3) {
    // curly: a crown of circles
    let s = '';
    for (let k = 0; k <= 10; k++) {
      const a = Math.PI * (1.05 + (k / 10) * 0.9);
      s += `<circle cx="${f(cx + Math.cos(a) * rx * 1.02)}" cy="${f(cy - ry * 0.1 + Math.sin(a) * ry * 0.98)}" r="${f(rx * 0.3)}" fill="${hair}"/>`;
    }
    return s;
  }
  // cap over the top of the head, fringe line depending on the style
  const fringe = id.hairStyle === 0 ? 0.55 : id.hairStyle === 1 ? 0.45 : 0.6;
  return `<path d="M ${f(cx - rx - 6)} ${f(cy - ry * 0.15)} C ${f(cx - rx - 8)} ${f(cy - ry * 1.35)} ${f(cx + rx + 8)} ${f(cy - ry * 1.35)} ${f(cx + rx + 6)} ${f(cy - ry * 0.15)} Q ${f(cx + rx * 0.5)} ${f(cy - ry * fringe)} ${f(cx)} ${f(cy - ry * (fringe + 0.12))} Q ${f(cx - rx * 0.5)} ${f(cy - ry * fringe)} ${f(cx - rx - 6)} ${f(cy - ry * 0.15)} Z" fill="${hair}"/>`;
}

function eye(id: FaceIdentity, x: number, y: number, side: -1 | 1, look: number, paint: Paint): string {
  const { eyeW: w, eyeH: h } = id;
  const tilt = id.eyeTilt * side;
  const k = side < 0 ? FACE_LABELS.rEye : FACE_LABELS.lEye;
  return (
    `<g transform="rotate(${f(tilt)} ${f(x)} ${f(y)})">` +
    `<ellipse cx="${f(x)}" cy="${f(y)}" rx="${f(w)}" ry="${f(h)}" fill="${paint('#fbfbf7', k)}" stroke="${paint('#2a1d17', k)}" stroke-width="2"/>` +
    `<circle cx="${f(x + look)}" cy="${f(y)}" r="${f(Math.min(id.irisR, h))}" fill="${paint(id.iris, k)}"/>` +
    `<circle cx="${f(x + look)}" cy="${f(y)}" r="${f(Math.min(id.irisR, h) * 0.45)}" fill="${paint('#0b0b0b', k)}"/>` +
    `<circle cx="${f(x + look + 2)}" cy="${f(y - 2)}" r="1.6" fill="${paint('#ffffff', k)}"/>` +
    `</g>`
  );
}

function markSvg(m: FaceMark, x: number, y: number): string {
  if (m.kind === 'mole') return `<circle cx="${f(x)}" cy="${f(y)}" r="${f(m.size)}" fill="${m.colour}"/>`;
  const a = (m.angle * Math.PI) / 180;
  const ux = Math.cos(a) * m.size;
  const uy = Math.sin(a) * m.size;
  return `<line x1="${f(x - ux)}" y1="${f(y - uy)}" x2="${f(x + ux)}" y2="${f(y + uy)}" stroke="${m.colour}" stroke-width="2" stroke-linecap="round"/>`;
}

/**
 * Image coordinates (pixels of the `size` image) of each mark's centre in the image of variation `v`: the face
 * coordinates mapped by the yaw (as the eyes) and the image's transform (the SVG group's translate, rotate and
 * scale). Used by the tests and the degradation measurement.
 */
export function markCentres(id: FaceIdentity, v: FaceVariation, size = 512): { x: number; y: number; scale: number }[] {
  const cx = size / 2;
  const cy = size / 2 + 20;
  const squash = 1 - 0.08 * Math.abs(v.yaw);
  const fx = cx + v.yaw * 16;
  // Same rounding as the SVG text, so the centres are those the renderer draws.
  const rnd = (t: number): number => Number(f(t));
  const s = rnd(v.scale);
  const ra = (rnd(v.rotDeg) * Math.PI) / 180;
  return id.marks.map((m) => {
    const px = rnd(fx + m.x * squash);
    const py = rnd(cy + m.y);
    const qx = s * (px - cx);
    const qy = s * (py - cy);
    return { x: cx + Math.cos(ra) * qx - Math.sin(ra) * qy + rnd(v.dx), y: cy + Math.sin(ra) * qx + Math.cos(ra) * qy + rnd(v.dy), scale: s };
  });
}

/**
 * The SVG text of one face image.
 * @param size output width = height in pixels (512 for the benchmark).
 */
export function faceSvg(id: FaceIdentity, v: FaceVariation, size = 512): string {
  return faceMarkup(id, v, size, false);
}

/**
 * The SVG text of the face-parsing label map of `faceSvg(id, v, size)`: same shapes, order and transform, each
 * filled with its CelebAMask-HQ class as a grey level (`FACE_LABELS`), antialiasing off. Shading drawn over
 * another part (blush, nose shadow opacity, lighting gradient) and the background pattern are not parts: the
 * blush and lighting are dropped, the background is class 0.
 * NOTE: a closed mouth is one stroke in the image; its upper half (the same curve 1.5 px higher, 3 px wide) is
 * labelled upper lip, the rest lower lip.
 */
export function faceLabelSvg(id: FaceIdentity, v: FaceVariation, size = 512): string {
  return faceMarkup(id, v, size, true);
}

function faceMarkup(id: FaceIdentity, v: FaceVariation, size: number, labels: boolean): string {
  const paint = labels ? labelPaint : imagePaint;
  const L = FACE_LABELS;
  const cx = size / 2;
  const cy = size / 2 + 20;
  const yawShift = v.yaw * 16; // features slide towards the turned side
  const squash = 1 - 0.08 * Math.abs(v.yaw);
  const rx = id.faceRx * squash;
  const ry = id.faceRy;
  const fx = cx + yawShift;
  const eyeY = cy + id.eyeDy;
  const mouthY = cy + ry * 0.5;
  const mw = id.mouthW * (1 - 0.1 * Math.abs(v.yaw));
  const smile = v.smile * 16;
  const open = v.mouthOpen * 14;
  const browY = eyeY - id.eyeH - 14 - v.browRaise;
  const shade = id.skinShade;
  const g: string[] = [];
  g.push(`<rect x="${f(cx - 48)}" y="${f(cy + ry * 0.6)}" width="96" height="${f(size)}" fill="${paint(shade, L.neck)}"/>`);
  g.push(`<ellipse cx="${f(cx)}" cy="${f(cy + ry + 150)}" rx="${f(rx * 1.9)}" ry="170" fill="${paint(v.bg2, L.cloth)}" stroke="${paint('#00000033', L.cloth)}" stroke-width="3"/>`);
  g.push(hairBack(id, cx, cy, paint));
  for (const s of [-1, 1] as const) {
    g.push(`<ellipse cx="${f(cx + s * (rx - 4) - yawShift * 0.3)}" cy="${f(eyeY + 14)}" rx="${f(id.earR * 0.7)}" ry="${f(id.earR)}" fill="${paint(shade, s < 0 ? L.rEar : L.lEar)}"/>`);
  }
  // Face: an ellipse whose lower half narrows with the jaw factor.
  g.push(
    `<path d="M ${f(cx - rx)} ${f(cy)} C ${f(cx - rx)} ${f(cy - ry * 1.33)} ${f(cx + rx)} ${f(cy - ry * 1.33)} ${f(cx + rx)} ${f(cy)} C ${f(cx + rx)} ${f(cy + ry * 0.75)} ${f(cx + rx * id.jaw * 0.45)} ${f(cy + ry)} ${f(cx)} ${f(cy + ry)} C ${f(cx - rx * id.jaw * 0.45)} ${f(cy + ry)} ${f(cx - rx)} ${f(cy + ry * 0.75)} ${f(cx - rx)} ${f(cy)} Z" fill="${paint(id.skin, L.skin)}"/>`,
  );
  // Marks: skin class (nothing to draw in the label map); mapped as the eyes are (x squashed, yaw-shifted).
  if (!labels) for (const m of id.marks) g.push(markSvg(m, fx + m.x * squash, cy + m.y));
  for (const s of [-1, 1] as const) {
    const ex = fx + s * id.eyeDx;
    g.push(eye(id, ex, eyeY, s, v.yaw * 5, paint));
    const bx0 = ex - (s * id.browLen) / 2;
    const bx1 = ex + (s * id.browLen) / 2;
    g.push(
      `<path d="M ${f(bx0)} ${f(browY + 4)} Q ${f(ex)} ${f(browY - id.browArch)} ${f(bx1)} ${f(browY + 2 - v.browRaise * 0.3)}" stroke="${paint(id.hair, s < 0 ? L.rBrow : L.lBrow)}" stroke-width="${f(id.browThick)}" fill="none" stroke-linecap="round"/>`,
    );
  }
  const noseTop = eyeY + 6;
  const noseTip = noseTop + id.noseLen;
  g.push(
    `<path d="M ${f(fx + v.yaw * 4)} ${f(noseTop)} L ${f(fx + v.yaw * 10 + id.noseW * 0.35)} ${f(noseTip)} Q ${f(fx + v.yaw * 10)} ${f(noseTip + 8)} ${f(fx + v.yaw * 10 - id.noseW * 0.5)} ${f(noseTip - 2)}" stroke="${paint('#00000055', L.nose)}" stroke-width="3" fill="none" stroke-linecap="round"/>`,
  );
  g.push(`<ellipse cx="${f(fx + v.yaw * 10 - id.noseW * 0.25)}" cy="${f(noseTip)}" rx="3" ry="2" fill="${paint('#00000066', L.nose)}"/>`);
  const mx0 = fx - mw / 2;
  const mx1 = fx + mw / 2;
  const upperCurve = (dy: number): string => `M ${f(mx0)} ${f(mouthY + dy)} Q ${f(fx)} ${f(mouthY + smile - (open > 0.5 ? 4 : 0) + dy)} ${f(mx1)} ${f(mouthY + dy)}`;
  if (open > 0.5) {
    g.push(
      `<path d="M ${f(mx0)} ${f(mouthY)} Q ${f(fx)} ${f(mouthY + smile - 4)} ${f(mx1)} ${f(mouthY)} Q ${f(fx)} ${f(mouthY + smile + open + 8)} ${f(mx0)} ${f(mouthY)} Z" fill="${paint('#4a1515', L.mouth)}" stroke="${paint(id.lip, L.lowerLip)}" stroke-width="5"/>`,
    );
    // The upper curve's stroke (butt caps, inside the closed path's stroke) is the upper lip.
    if (labels) g.push(`<path d="${upperCurve(0)}" stroke="${labelColour(L.upperLip)}" stroke-width="5" fill="none"/>`);
  } else {
    g.push(`<path d="M ${f(mx0)} ${f(mouthY)} Q ${f(fx)} ${f(mouthY + smile)} ${f(mx1)} ${f(mouthY)}" stroke="${paint(id.lip, L.lowerLip)}" stroke-width="6" fill="none" stroke-linecap="round"/>`);
    if (labels) g.push(`<path d="${upperCurve(-1.5)}" stroke="${labelColour(L.upperLip)}" stroke-width="3" fill="none"/>`);
  }
  if (!labels) {
    g.push(`<ellipse cx="${f(fx - id.eyeDx)}" cy="${f(mouthY - 22)}" rx="16" ry="9" fill="#ff6060" opacity="${f(0.08 + 0.1 * Math.max(0, v.smile))}"/>`);
    g.push(`<ellipse cx="${f(fx + id.eyeDx)}" cy="${f(mouthY - 22)}" rx="16" ry="9" fill="#ff6060" opacity="${f(0.08 + 0.1 * Math.max(0, v.smile))}"/>`);
  }
  g.push(hairTop(id, cx, cy, paint));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 ${size} ${size}"${labels ? ' shape-rendering="crispEdges"' : ''}>`;
  const body = `<g transform="translate(${f(v.dx)} ${f(v.dy)}) rotate(${f(v.rotDeg)} ${f(cx)} ${f(cy)}) translate(${f(cx)} ${f(cy)}) scale(${f(v.scale)}) translate(${f(-cx)} ${f(-cy)})">` + g.join('') + `</g>`;
  if (labels) return `${head}<rect width="${size}" height="${size}" fill="${labelColour(L.background)}"/>${body}</svg>`;
  const a = (v.lightAngle * Math.PI) / 180;
  const lx = 0.5 + 0.5 * Math.cos(a);
  const ly = 0.5 + 0.5 * Math.sin(a);
  return (
    head +
    background(v, size) +
    body +
    `<defs><linearGradient id="light" x1="${f(lx)}" y1="${f(ly)}" x2="${f(1 - lx)}" y2="${f(1 - ly)}"><stop offset="0" stop-color="#ffffff" stop-opacity="${f(v.lightStrength)}"/><stop offset="1" stop-color="#000000" stop-opacity="${f(v.lightStrength)}"/></linearGradient></defs>` +
    `<rect width="${size}" height="${size}" fill="url(#light)"/>` +
    `</svg>`
  );
}
