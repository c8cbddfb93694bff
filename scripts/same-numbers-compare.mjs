// Compares what two sides of scripts/same-numbers.sh wrote: node scripts/same-numbers-compare.mjs BASE_DIR HEAD_DIR
// (each holding results/, dataset/ and report-table5.md). Exit 0 = identical apart from the fields below, 1 = not.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Timing, memory and timestamp fields, stripped by name (a dotted path into each JSON record) before comparing.
 * Everything else, every metric value included, must be equal.
 */
export const STRIPPED = {
  'samples.jsonl': [
    'finishedAt', // timestamp
    'timingsMs', // decode/restore/encode/metric times
    'peakRssBytes', // memory high-water mark
    'metrics.time-ms', // the restorer's time per image, stored as a metric
    'restorer.timings', // the restorer's own stage times
    'restorer.modelLoadMs', // model load time
    'restorer.peakRssBytes', // memory high-water mark
  ],
  'eval.jsonl': ['at'], // timestamp
  'thumbs.jsonl': ['at'], // timestamp
  'summary.json': ['updatedAt', 'metrics.time-ms'], // timestamp; the time-per-image aggregate
  'run.json': ['createdAt', 'resumedAt', 'restorer.settings.modelLoadMs'], // timestamps; model load time
};
/**
 * Lists compared as sets (sorted by `path`, else `name`): ReF-LDM's restorer hashes its bundle's files concurrently
 * and records them in the order the hashes finish, which varies from run to run.
 */
export const UNORDERED = { 'run.json': ['restorer.weights.files'] };
/** Directories under results/ that hold timings only: the demo's fusion timing (`bench/<timestamp>-<id>/fusion.json`). */
export const SKIPPED_DIRS = ['results/bench'];

const MAX_SHOWN = 25;

function walk(root, dir = root, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = relative(root, p).split(sep).join('/');
    if (SKIPPED_DIRS.includes(rel)) continue;
    if (e.isDirectory()) walk(root, p, out);
    else out.push(rel);
  }
  return out;
}

function sortLists(obj, paths = []) {
  for (const p of paths) {
    const keys = p.split('.');
    let cur = obj;
    for (const k of keys.slice(0, -1)) cur = cur && typeof cur === 'object' ? cur[k] : undefined;
    const list = cur?.[keys.at(-1)];
    const key = (x) => String(x?.path ?? x?.name ?? JSON.stringify(x));
    if (Array.isArray(list)) list.sort((a, b) => key(a).localeCompare(key(b)));
  }
  return obj;
}

function strip(obj, paths) {
  const o = structuredClone(obj);
  for (const p of paths) {
    const keys = p.split('.');
    // Keys may contain dots in principle; ours (time-ms, restorer.timings) do not.
    let cur = o;
    for (const k of keys.slice(0, -1)) cur = cur && typeof cur === 'object' ? cur[k] : undefined;
    if (cur && typeof cur === 'object') delete cur[keys.at(-1)];
  }
  return o;
}

/** Every leaf where a and b differ: `path: a → b`. */
function deepDiff(a, b, path, out) {
  if (Object.is(a, b)) return out;
  const isObj = (x) => x !== null && typeof x === 'object';
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (!(k in a)) out.push(`${path}.${k}: (absent) → ${JSON.stringify(b[k])}`);
      else if (!(k in b)) out.push(`${path}.${k}: ${JSON.stringify(a[k])} → (absent)`);
      else deepDiff(a[k], b[k], `${path}.${k}`, out);
    }
    return out;
  }
  out.push(`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`);
  return out;
}

function jsonLines(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l);
      } catch {
        return { unparseable: `line ${i + 1}: ${l.slice(0, 80)}` };
      }
    });
}

function compareFile(rel, a, b) {
  const name = rel.split('/').at(-1);
  const fields = STRIPPED[name];
  if (fields && name.endsWith('.jsonl')) {
    const la = jsonLines(a).map((x) => strip(x, fields));
    const lb = jsonLines(b).map((x) => strip(x, fields));
    const out = [];
    if (la.length !== lb.length) out.push(`${rel}: ${la.length} lines → ${lb.length} lines`);
    for (let i = 0; i < Math.min(la.length, lb.length); i++) {
      const id = la[i].sampleId !== undefined ? `sample ${la[i].sampleId}` : la[i].metric !== undefined ? `set ${la[i].metric}` : '';
      deepDiff(la[i], lb[i], `${rel}:${i + 1}${id ? ` (${id})` : ''}`, out);
    }
    return { out, kind: name, lines: la.length };
  }
  if (fields) {
    const read = (f) => sortLists(strip(JSON.parse(readFileSync(f, 'utf8')), fields), UNORDERED[name]);
    return { out: deepDiff(read(a), read(b), rel, []), kind: name };
  }
  const ba = readFileSync(a);
  const bb = readFileSync(b);
  const ext = name.includes('.') ? name.split('.').at(-1) : name;
  if (ba.equals(bb)) return { out: [], kind: ext };
  if (ext === 'md' || ext === 'txt') {
    const ta = ba.toString('utf8').split('\n');
    const tb = bb.toString('utf8').split('\n');
    const out = [];
    for (let i = 0; i < Math.max(ta.length, tb.length); i++) if (ta[i] !== tb[i]) out.push(`${rel}:${i + 1}: ${JSON.stringify(ta[i] ?? null)} → ${JSON.stringify(tb[i] ?? null)}`);
    return { out, kind: ext };
  }
  const h = (x) => createHash('sha256').update(x).digest('hex').slice(0, 12);
  return { out: [`${rel}: bytes differ (${ba.length} B sha256 ${h(ba)}… → ${bb.length} B sha256 ${h(bb)}…)`], kind: ext };
}

function main([baseDir, headDir]) {
  if (!baseDir || !headDir || !statSync(baseDir).isDirectory() || !statSync(headDir).isDirectory()) {
    console.error('usage: node scripts/same-numbers-compare.mjs BASE_DIR HEAD_DIR');
    return 2;
  }
  const fa = walk(baseDir).filter((f) => f !== 'log');
  const fb = walk(headDir).filter((f) => f !== 'log');
  const sb = new Set(fb);
  const sa = new Set(fa);
  const diffs = [];
  const counts = new Map();
  let sampleLines = 0;
  const diffFiles = new Map();
  for (const f of fa) if (!sb.has(f)) diffs.push(`${f}: only in base`);
  for (const f of fb) if (!sa.has(f)) diffs.push(`${f}: only in head`);
  for (const f of fa.filter((x) => sb.has(x)).sort()) {
    const r = compareFile(f, join(baseDir, f), join(headDir, f));
    counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
    if (r.kind === 'samples.jsonl') sampleLines += r.lines;
    if (r.out.length) diffFiles.set(f, r.out.length);
    diffs.push(...r.out);
  }
  const what = [...counts.entries()].sort().map(([k, n]) => `${n} ${k}`).join(', ');
  console.log(`compared ${fa.length} base files with ${fb.length} head files: ${what}; ${sampleLines} samples.jsonl lines`);
  console.log(`stripped before comparing: ${Object.entries(STRIPPED).map(([f, p]) => `${f} {${p.join(', ')}}`).join('; ')}`);
  console.log(`compared as sets: ${Object.entries(UNORDERED).map(([f, p]) => `${f} {${p.join(', ')}}`).join('; ')}; not compared: ${SKIPPED_DIRS.join(', ')}`);
  if (!diffs.length) {
    console.log('no differences');
    return 0;
  }
  console.log(`${diffs.length} difference(s) in ${diffFiles.size + diffs.filter((d) => d.includes(': only in ')).length} file(s):`);
  for (const d of diffs.slice(0, MAX_SHOWN)) console.log(`  ${d}`);
  if (diffs.length > MAX_SHOWN) console.log(`  … and ${diffs.length - MAX_SHOWN} more`);
  if (diffFiles.size > 1) {
    const shown = [...diffFiles].slice(0, 15);
    for (const [f, n] of shown) console.log(`  ${n} in ${f}`);
    if (diffFiles.size > shown.length) console.log(`  … and ${diffFiles.size - shown.length} more files`);
  }
  return 1;
}

process.exitCode = main(process.argv.slice(2));
