/**
 * @file Single graphs, full vs query-chunked attention (docs/memory.md, "Time per image"): process CPU time and
 * wall time of one graph run, interleaved pairs with the first mover alternating, median (range) of the per-pair
 * ratios chunked / full. Separates the graphs' own cost from the sampler's, and onnxruntime's thread spinning
 * (`--no-spin` sets the session's `intra_op.allow_spinning` to 0) from the arithmetic.
 *
 *   npx tsx bench/attention-graphs.ts --full .cache/attn-full [--chunked test/fixtures/refldm-tiny]
 *       [--graphs vaeEncoder,unet] [--refs 3] [--threads 2] [--rounds 7] [--no-spin]
 *
 * Inputs are deterministic pseudo-random tensors of the graphs' shapes (cost does not depend on the values): the
 * VAE encoder gets a 512 × 512·refs strip, the CacheKV main pass CFG batch 2 with refs images' K/V, the other U-Nets
 * batch 2 with a refs-wide reference latent, the decoder one latent.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createSession, Tensor } from '../src/lib/server/ort/session.ts';
import { fmtStats, loadNote, ratios, stats } from './rounds.ts';

const { values: a } = parseArgs({
  options: {
    full: { type: 'string' },
    chunked: { type: 'string', default: 'test/fixtures/refldm-tiny' },
    graphs: { type: 'string', default: 'vaeEncoder,unet' },
    refs: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '7' },
    'no-spin': { type: 'boolean', default: false },
  },
});
if (!a.full) throw new Error('--full DIR: a bundle exported with --attention full (see bench/attention-form.ts)');
const refs = Number(a.refs);
const threads = Number(a.threads);
const rounds = Number(a.rounds);
const dirs = { full: resolve(a.full), chunked: resolve(a.chunked!) };
const bj = JSON.parse(readFileSync(join(dirs.full, 'bundle.json'), 'utf8'));
const lat = bj.latent.size as number;

function rnd(n: number): Float32Array {
  const x = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    x[i] = s / 2147483648 - 0.5;
  }
  return x;
}

function feeds(g: string): Record<string, Tensor> {
  const px = lat * 8;
  if (g === 'vaeEncoder') return { image: new Tensor('float32', rnd(3 * px * px * refs), [1, 3, px, px * refs]) };
  if (g === 'vaeDecoder') return { latent: new Tensor('float32', rnd(8 * lat * lat), [1, 8, lat, lat]) };
  const cin = bj.model.unet.inChannels as number;
  const f: Record<string, Tensor> = {
    x: new Tensor('float32', rnd(2 * cin * lat * lat), [2, cin, lat, lat]),
    t: new Tensor('int64', BigInt64Array.from([500n, 500n]), [2]),
  };
  if (g === 'unet') {
    for (const inp of bj.graphs.unet.inputs.slice(2) as { name: string }[]) {
      const L = bj.attentionLayers[Number(inp.name.match(/\d+/)![0])];
      f[inp.name] = new Tensor('float32', rnd(2 * L.heads * L.headDim * refs * L.tokens), [2 * L.heads, L.headDim, refs * L.tokens]);
    }
  } else if (g === 'unetChannel') {
    const k = bj.channelConcatRefs as number;
    f.refs = new Tensor('float32', rnd(2 * 8 * k * lat * lat), [2, 8 * k, lat, lat]);
  } else {
    f.refs = new Tensor('float32', rnd(2 * 8 * lat * lat * refs), [2, 8, lat, lat * refs]);
  }
  return f;
}

process.stdout.write(`${refs} references, ${threads} threads, spinning ${a['no-spin'] ? 'off' : 'on'}, ${rounds} pairs (${loadNote()})\n`);
for (const g of a.graphs!.split(',')) {
  if (!bj.graphs[g]) throw new Error(`${dirs.full}: bundle.json has no graph ${g}`);
  const so = { threads, ...(a['no-spin'] ? { allowSpinning: false } : {}) };
  const s = { full: await createSession(join(dirs.full, bj.graphs[g].file), so), chunked: await createSession(join(dirs.chunked, bj.graphs[g].file), so) };
  try {
    const f = feeds(g);
    await s.full.run(f); // warm-up
    await s.chunked.run(f);
    const m = { full: { wall: [] as number[], cpu: [] as number[] }, chunked: { wall: [] as number[], cpu: [] as number[] } };
    for (let r = 0; r < rounds; r++) {
      const order: ('full' | 'chunked')[] = r % 2 ? ['chunked', 'full'] : ['full', 'chunked'];
      for (const k of order) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await s[k].run(f);
        const c = process.cpuUsage(c0);
        m[k].wall.push((performance.now() - t0) / 1000);
        m[k].cpu.push((c.user + c.system) / 1e6);
      }
    }
    const cpu = stats(ratios(m.chunked.cpu, m.full.cpu));
    const wall = stats(ratios(m.chunked.wall, m.full.wall));
    process.stdout.write(
      `${g.padEnd(12)} CPU s full ${stats(m.full.cpu).median.toFixed(3)}, chunked ${stats(m.chunked.cpu).median.toFixed(3)}: CPU ${fmtStats(cpu)}, wall ${fmtStats(wall)} (${loadNote()})\n`,
    );
  } finally {
    await s.full.release();
    await s.chunked.release();
  }
}
