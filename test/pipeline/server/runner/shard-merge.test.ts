/**
 * `refbench run --shard i/n` + `refbench merge` (issue 9, item 5), through the CLI: three shards merged equal one
 * unsharded run (per-image values and output hashes identical, FID and KID within 1e-9 relative, same dataset
 * hash and coverage), and the merge refuses shards that are not the complete shards of one run (different spec,
 * dataset or code, a shard twice, a missing shard named, mixed n, an incomplete shard, an existing target)
 * without creating anything. Every input file is hashed before and after: the merge never modifies its inputs.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../../helpers/cli.ts';
import { hashTree, perImage, relDiff as rel, runDirs, setValues as sets, writeShardFixture } from '../../../helpers/shard-fixture.ts';

describe('refbench run --shard i/n + refbench merge', () => {
  const root = mkdtempSync(join(tmpdir(), 'refbench-shard-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const setup = () => writeShardFixture(root);

  async function ok(args: string[]): Promise<string> {
    const r = await cli(args);
    expect(r.code, `refbench ${args.join(' ')}\n${r.err}`).toBe(0);
    return r.out;
  }

  it('3 shards merged equal one unsharded run; the shards are not modified', async () => {
    const spec = await setup();
    await ok(['run', spec, '--results-dir', join(root, 'full'), '-q']);
    for (const i of [0, 1, 2]) await ok(['run', spec, '--shard', `${i}/3`, '--results-dir', join(root, 'shards', String(i)), '-q']);
    const shardDirs = [0, 1, 2].flatMap((i) => runDirs(join(root, 'shards', String(i))));
    expect(shardDirs.map((d) => d.split('/').pop())).toEqual([0, 1, 2].map((i) => expect.stringMatching(new RegExp(`^sharded-[0-9a-f]{10}-shard${i}of3$`))));
    // Round-robin split: 7 samples → 3, 2, 2; every shard run.json records the full run.
    const shardRuns = shardDirs.map((d) => JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')));
    expect(shardRuns.map((r) => r.dataset.size)).toEqual([3, 2, 2]);
    expect(shardRuns.map((r) => Object.keys(perImage(shardDirs[shardRuns.indexOf(r)])).sort())).toEqual([
      ['s00', 's03', 's06'],
      ['s01', 's04'],
      ['s02', 's05'],
    ]);
    expect(shardRuns.map((r) => r.shard)).toEqual([0, 1, 2].map((index) => ({ index, count: 3, of: 7, sampleIds: shardRuns[0].shard.sampleIds })));

    const before = hashTree(join(root, 'shards'));
    const out = await ok(['merge', '--results-dir', join(root, 'merged'), ...[...shardDirs].reverse()]);
    expect(hashTree(join(root, 'shards'))).toEqual(before);

    const [full] = runDirs(join(root, 'full'));
    const [merged] = runDirs(join(root, 'merged'));
    expect(merged.split('/').pop()).toBe(full.split('/').pop());
    expect(out).toContain('7/7 ok');
    // Per-image values, output and input hashes: identical.
    expect(Object.keys(perImage(merged))).toHaveLength(7);
    expect(perImage(merged)).toEqual(perImage(full));
    // The outputs were copied, byte for byte.
    for (const f of readdirSync(join(full, 'outputs'))) expect(readFileSync(join(merged, 'outputs', f))).toEqual(readFileSync(join(full, 'outputs', f)));
    // FID from merged moments and KID from merged features: within 1e-9 relative of the unsharded run's.
    const s = sets(merged);
    const f = sets(full);
    expect(Object.keys(s).sort()).toEqual(['fid-clean', 'kid-clean']);
    for (const id of ['fid-clean', 'kid-clean']) {
      expect(s[id].n).toBe(7);
      expect(Number.isFinite(s[id].value) && s[id].value !== 0).toBe(true);
      expect(rel(s[id].value, f[id].value), `${id}: merged ${s[id].value} vs unsharded ${f[id].value}`).toBeLessThan(1e-9);
    }
    expect(s['kid-clean'].extra).toEqual(f['kid-clean'].extra);
    // No shard's own FID is the merged one (they cover 2-3 images): the set value really comes from the merge.
    for (const d of shardDirs) expect(sets(d)['fid-clean']?.value).not.toBe(s['fid-clean'].value);
    // run.json and summary.json describe the whole run.
    const mr = JSON.parse(readFileSync(join(merged, 'run.json'), 'utf8'));
    const fr = JSON.parse(readFileSync(join(full, 'run.json'), 'utf8'));
    expect(mr.dataset).toEqual(fr.dataset);
    expect(mr.specHash).toBe(fr.specHash);
    expect(mr.shard).toBeUndefined();
    expect(mr.merged.shards.map((x: { index: number; runDir: string }) => [x.index, x.runDir])).toEqual(shardDirs.map((d, i) => [i, d]));
    const ms = JSON.parse(readFileSync(join(merged, 'summary.json'), 'utf8'));
    const fs = JSON.parse(readFileSync(join(full, 'summary.json'), 'utf8'));
    for (const id of ['psnr', 'ssim']) {
      expect(ms.metrics[id].value).toBe(fs.metrics[id].value);
      expect(ms.metrics[id].ci95).toEqual(fs.metrics[id].ci95);
      expect(ms.metrics[id].coverage).toBe('7/7');
    }
    expect(rel(ms.metrics['fid-clean'].value, fs.metrics['fid-clean'].value)).toBeLessThan(1e-9);
    expect(ms.samples).toEqual(fs.samples);
    // The merged run is a normal run: `report` reads it.
    expect(await ok(['report', '--results-dir', join(root, 'merged')])).toContain('sharded');
  }, 600_000);

  it('refuses a shard twice, a missing shard (named), mixed n, other spec/dataset/code, an incomplete shard, an existing target; creates nothing', async () => {
    const spec = join(root, 'spec.json');
    const shard = (i: number) => runDirs(join(root, 'shards', String(i)))[0];
    // Other runs to mix in: a 0/2 shard, shard 2/3 of another spec, shard 1/3 of the first 6 samples, and copies
    // of shard 2/3 edited to another code version and with a lost last sample line.
    await ok(['run', spec, '--shard', '0/2', '--results-dir', join(root, 'odd', 'n2'), '-q']);
    await ok(['run', join(root, 'spec-other.json'), '--shard', '2/3', '--results-dir', join(root, 'odd', 'spec'), '-q']);
    await ok(['run', spec, '--shard', '1/3', '--limit', '6', '--results-dir', join(root, 'odd', 'limit'), '-q']);
    const code = join(root, 'odd', 'code');
    cpSync(shard(2), code, { recursive: true });
    const cr = JSON.parse(readFileSync(join(code, 'run.json'), 'utf8'));
    writeFileSync(join(code, 'run.json'), JSON.stringify({ ...cr, code: { ...cr.code, gitSha: '0'.repeat(40) } }));
    const part = join(root, 'odd', 'part');
    cpSync(shard(2), part, { recursive: true });
    const lines = readFileSync(join(part, 'samples.jsonl'), 'utf8').split('\n').filter(Boolean);
    writeFileSync(join(part, 'samples.jsonl'), `${lines.slice(0, -1).join('\n')}\n`);
    const nostate = join(root, 'odd', 'nostate');
    cpSync(shard(2), nostate, { recursive: true });
    rmSync(join(nostate, 'states', 'kid-clean.json'));

    const before = { shards: hashTree(join(root, 'shards')), odd: hashTree(join(root, 'odd')) };
    const target = join(root, 'refused');
    const cases: [string[], RegExp][] = [
      [[shard(0), shard(1), shard(0)], /shard 0\/3 is given twice: .*shard0of3 and .*shard0of3/],
      [[shard(0), shard(2)], /missing shard\(s\) 1\/3 \(given: 0\/3, 2\/3\)/],
      [[shard(0), shard(1), shard(2), runDirs(join(root, 'odd', 'n2'))[0]], /differ in the number of shards: .* has 3, .*shard0of2 \(shard 0\/2\) has 2/],
      [[shard(0), shard(1), runDirs(join(root, 'odd', 'spec'))[0]], /differ in spec \(spec hash\)/],
      [[shard(0), runDirs(join(root, 'odd', 'limit'))[0], shard(2)], /differ in dataset: .*7 samples.*6 samples/],
      [[shard(0), shard(1), code], /differ in code: .*git 0{12}/],
      [[shard(0), shard(1), part], /odd\/part \(shard 2\/3\) is incomplete: 1\/2 samples done; resume it with `refbench run <spec> --shard 2\/3`/],
      [[shard(0), shard(1), nostate], /odd\/nostate \(shard 2\/3\) has no usable saved state of kid-clean: .*kid-clean\.json: missing/],
      [[runDirs(join(root, 'full'))[0], shard(1), shard(2)], /is not a shard run/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(['merge', '--results-dir', target, ...args]);
      expect(r.code, r.err).not.toBe(0);
      expect(r.err).toMatch(re);
      expect(existsSync(join(target, 'runs')) ? readdirSync(join(target, 'runs')) : []).toEqual([]);
    }
    // An existing target is never overwritten.
    const merged = runDirs(join(root, 'merged'))[0];
    const mergedBefore = statSync(join(merged, 'run.json')).mtimeMs;
    const again = await cli(['merge', '--results-dir', join(root, 'merged'), shard(0), shard(1), shard(2)]);
    expect(again.code).not.toBe(0);
    expect(again.err).toMatch(/exists; merge never overwrites a run/);
    expect(statSync(join(merged, 'run.json')).mtimeMs).toBe(mergedBefore);
    expect(readdirSync(join(root, 'merged', 'runs'))).toEqual([merged.split('/').pop()]);
    expect({ shards: hashTree(join(root, 'shards')), odd: hashTree(join(root, 'odd')) }).toEqual(before);
  }, 600_000);
});
