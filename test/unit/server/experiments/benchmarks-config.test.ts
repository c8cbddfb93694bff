/**
 * Benchmarks as versioned data and the user config: every committed benchmark file loads and its protocol hash
 * matches; a changed protocol without a version bump is refused naming the file, the field and the new hash; the
 * user config resolves paths relative to its file and a missing key is an error naming the key, the benchmark and
 * the field that needs it (through `refbench reproduce --dry-run`, where a user meets it); bad config files are
 * named; `report` warns loudly when runs of one benchmark mix protocol versions.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCHMARKS_DIR, listBenchmarkIds, loadBenchmark, protocolHash } from '../../../../src/lib/server/experiments/benchmarks.ts';
import { loadExperiment, planExperiment } from '../../../../src/lib/server/experiments/experiments.ts';
import { ConfigKeyError, UserConfig } from '../../../../src/lib/server/experiments/user-config.ts';
import { mixedVersions } from '../../../../src/lib/server/runner/report.ts';
import type { RunJson } from '../../../../src/lib/eval/results/schema.ts';
import { cli } from '../../../helpers/cli.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'refbench-benchmarks-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('benchmarks/*.yaml', () => {
  it('the five benchmarks of the issue load, with their protocol hash, at most 5 references in CSV order', () => {
    expect(listBenchmarkIds()).toEqual(['celeba-test-ref', 'ffhq-ref-moderate', 'ffhq-ref-severe', 'synthfaces-ref-moderate', 'synthfaces-ref-severe']);
    for (const id of listBenchmarkIds()) {
      const b = loadBenchmark(id);
      expect(b.protocol.sha256).toBe(protocolHash(b));
      expect(b.references).toEqual({ max: 5, order: 'csv' });
      expect(b.protocol.changes[String(b.protocol.version)]).toBeTruthy();
    }
    // The paper's benchmarks score FID against pyiqa's FFHQ statistics; the embedded ones say they stand in.
    expect(JSON.stringify(loadBenchmark('ffhq-ref-severe').metrics)).toContain('ffhq_clean_trainval70k_512.npz');
    expect(loadBenchmark('synthfaces-ref-severe').paper.standIn).toMatch(/not comparable/);
  });

  it('a changed protocol without a version bump is refused, naming the file, the field and the hash to set', () => {
    const dir = join(root, 'bench-changed');
    mkdirSync(dir);
    const src = readFileSync(join(BENCHMARKS_DIR, 'ffhq-ref-severe.yaml'), 'utf8');
    writeFileSync(join(dir, 'ffhq-ref-severe.yaml'), src.replace('references: { max: 5, order: csv }', 'references: { max: 8, order: csv }'));
    const b = { ...loadBenchmark('ffhq-ref-severe'), references: { max: 8, order: 'csv' as const } };
    expect(() => loadBenchmark('ffhq-ref-severe', dir)).toThrow(
      new RegExp(`ffhq-ref-severe\\.yaml: protocol\\.sha256: .*bump protocol\\.version.*set protocol\\.sha256 to ${protocolHash(b)}`),
    );
    // A bumped version without a line saying what changed is refused too.
    writeFileSync(join(dir, 'ffhq-ref-severe.yaml'), src.replace('version: 1', 'version: 2'));
    expect(() => loadBenchmark('ffhq-ref-severe', dir)).toThrow(/protocol\.changes: no line for version 2/);
    // Unknown keys are named (strict schema).
    writeFileSync(join(dir, 'ffhq-ref-severe.yaml'), src.replace('references:', 'refrences: 3\nreferences:'));
    expect(() => loadBenchmark('ffhq-ref-severe', dir)).toThrow(/ffhq-ref-severe\.yaml.*refrences/);
    expect(() => loadBenchmark('nope')).toThrow(/no benchmark 'nope'.*available: celeba-test-ref, ffhq-ref-moderate/);
  });
});

describe('user config', () => {
  it('paths resolve relative to the config file; the plan fills the benchmark from them', () => {
    const dir = join(root, 'cfg');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'refbench.config.yaml'),
      ['datasets:', '  ffhq-ref: data/FFHQ-Ref', '  ffhq-images: /abs/ffhq', '  ffhq-ref-face-parsing: data/parsing', 'models:', '  refldm-paper: w/bundle', '  refldm-paper-xT: w/x_T.f32'].join('\n'),
    );
    const config = UserConfig.load(join(dir, 'refbench.config.yaml'));
    const [p] = planExperiment(loadExperiment('table5'), { config, resultsDir: join(root, 'results') });
    const spec = p.spec as { dataset: { options: Record<string, unknown> }; restorer: { options: Record<string, unknown> }; metrics: { id: string; options: Record<string, unknown> }[]; benchmark: unknown };
    expect(p.state).toBe('missing');
    expect(spec.dataset.options).toEqual({ root: join(dir, 'data/FFHQ-Ref'), hqDir: '/abs/ffhq', split: 'test', level: 'severe' });
    expect(spec.restorer.options).toMatchObject({ bundle: join(dir, 'w/bundle'), xT: join(dir, 'w/x_T.f32'), steps: 100, maxRefs: 1 });
    expect(spec.metrics.find((m) => m.id === 'flpips-vgg')!.options.maskDir).toBe(join(dir, 'data/parsing'));
    const b = loadBenchmark('ffhq-ref-severe');
    expect(spec.benchmark).toEqual({ id: 'ffhq-ref-severe', version: b.protocol.version, sha256: b.protocol.sha256 });
    // The FID statistics are a models-folder file: missing ones come with the command that fetches them.
    expect(p.missingFiles.map((m) => m.path).join()).toMatch(/ffhq_clean_trainval70k_512\.npz/);
  });

  it('a missing key names the key, the benchmark and its field (reproduce --dry-run and reproduce)', async () => {
    const cfg = join(root, 'partial.yaml');
    writeFileSync(cfg, 'datasets:\n  ffhq-ref: /data/FFHQ-Ref\n');
    const dry = await cli(['reproduce', 'table5', '--config', cfg, '--results-dir', join(root, 'results'), '--dry-run']);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.err).toContain(`${cfg} has no key 'datasets.ffhq-images'; it is needed by benchmark ffhq-ref-severe (benchmarks/ffhq-ref-severe.yaml: dataset.options.hqDir)`);
    expect(dry.err).toMatch(/Add to .*partial\.yaml \(refbench\.config\.example\.yaml lists every key\):\n\s+models:\n\s+refldm-paper: <path>\n\s+refldm-paper-xT: <path>\n\s+datasets:\n\s+ffhq-images: <path>/);
    // Without --dry-run it is an error (exit 1) naming the same key, after running what could run (nothing here).
    const run = await cli(['reproduce', 'table5', '--config', cfg, '--results-dir', join(root, 'results')]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/4 run\(s\) of table5 cannot start \(0 made, 0 already done\):\nffhq-ref-severe-refldm-paper-refs1, .*refs8:\n/);
    expect(run.err).toContain(`${cfg} has no key 'datasets.ffhq-images'; it is needed by benchmark ffhq-ref-severe (benchmarks/ffhq-ref-severe.yaml: dataset.options.hqDir)`);
    // Direct API: a typed error carrying the key.
    expect(() => UserConfig.of({}).require('datasets.x', 'benchmark b')).toThrow(ConfigKeyError);
  });

  it('reproduce --dry-run checks every path the runs will read: configured paths that do not exist block their runs, named', async () => {
    const dir = join(root, 'cfg-gone');
    mkdirSync(dir);
    const cfg = join(dir, 'refbench.config.yaml');
    writeFileSync(
      cfg,
      ['datasets:', '  ffhq-ref: gone/FFHQ-Ref', '  ffhq-images: /gone/ffhq', '  ffhq-ref-face-parsing: gone/parsing', 'models:', '  refldm-paper: gone/bundle', '  refldm-paper-xT: gone/x_T.f32'].join('\n'),
    );
    const dry = await cli(['reproduce', 'table5', '--config', cfg, '--results-dir', join(root, 'results-gone'), '--dry-run']);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out).toContain('dry run: 0 run(s) to do, 0 done, 4 blocked');
    for (const [key, path] of [
      ['datasets.ffhq-ref', join(dir, 'gone/FFHQ-Ref')],
      ['datasets.ffhq-images', '/gone/ffhq'],
      ['datasets.ffhq-ref-face-parsing', join(dir, 'gone/parsing')],
      ['models.refldm-paper', join(dir, 'gone/bundle')],
      ['models.refldm-paper-xT', join(dir, 'gone/x_T.f32')],
    ]) {
      expect(dry.err).toContain(`missing ${path}: no such file or folder; set ${key} in ${cfg} to where it is`);
    }
    // Without --dry-run nothing starts: the same paths, one error.
    const run = await cli(['reproduce', 'table5', '--config', cfg, '--results-dir', join(root, 'results-gone')]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`${join(dir, 'gone/FFHQ-Ref')}: no such file or folder; set datasets.ffhq-ref`);
    // A committed file the profile reads ({ repo: ... }) is checked too; the embedded benchmark (generated on first
    // use, so its folder need not exist yet) is not blocked.
    const emb = await cli(['reproduce', 'table5', '--benchmark', 'synthfaces-ref-severe', '--restorer', 'refldm-tiny', '--config', cfg, '--results-dir', join(root, 'results-gone'), '--dry-run']);
    expect(emb.code, emb.err).toBe(0);
    expect(emb.out).toContain('dry run: 4 run(s) to do, 0 done, 0 blocked');
  });

  it('bad config files are named: not found (given), not YAML, a value that is not a path', async () => {
    const missing = await cli(['reproduce', 'table5', '--config', join(root, 'nope.yaml'), '--dry-run']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`${join(root, 'nope.yaml')}: config file not found (given by --config`);
    writeFileSync(join(root, 'bad.yaml'), 'datasets: [unclosed\n');
    expect(() => UserConfig.load(join(root, 'bad.yaml'))).toThrow(/bad\.yaml: not valid YAML/);
    writeFileSync(join(root, 'num.yaml'), 'datasets:\n  ffhq-ref: 3\n');
    expect(() => UserConfig.load(join(root, 'num.yaml'))).toThrow(/num\.yaml: datasets\.ffhq-ref: expected a path \(string\) or a mapping, got 3/);
    expect(() => UserConfig.load(undefined, { REFBENCH_CONFIG: join(root, 'gone.yaml') })).toThrow(/gone\.yaml: config file not found \(given by \$REFBENCH_CONFIG/);
  });

  it('the fused designs without a released checkpoint read "needs that design\'s checkpoint" unless the config supplies one', () => {
    const exp = loadExperiment('table2');
    const none = planExperiment(exp, { config: UserConfig.of({}), resultsDir: join(root, 'results') });
    const blocked = none.filter((p) => p.blockedKind === 'checkpoint').map((p) => p.row.design);
    expect(blocked).toEqual(['channel', 'cross', 'spatial']);
    expect(none.find((p) => p.row.design === 'spatial')!.blocked).toMatch(/needs that design's checkpoint: only CacheKV's was released; set designs\.spatial/);
    const cfgDir = join(root, 'cfg2');
    mkdirSync(cfgDir);
    cpSync(join(root, 'cfg', 'refbench.config.yaml'), join(cfgDir, 'refbench.config.yaml'));
    writeFileSync(join(cfgDir, 'refbench.config.yaml'), `${readFileSync(join(cfgDir, 'refbench.config.yaml'), 'utf8')}\ndesigns:\n  spatial: sp\n`);
    const some = planExperiment(exp, { config: UserConfig.load(join(cfgDir, 'refbench.config.yaml')), resultsDir: join(root, 'results') });
    const sp = some.find((p) => p.row.design === 'spatial')!;
    expect(sp.state).toBe('missing');
    expect((sp.spec as { restorer: { options: Record<string, unknown> } }).restorer.options).toMatchObject({ bundle: join(cfgDir, 'sp'), design: 'spatial' });
  });
});

describe('protocol versions in reports', () => {
  it('runs of one benchmark made from different protocol versions get a loud warning naming both', () => {
    const run = (id: string, version: number) => ({ runId: id, spec: { benchmark: { id: 'ffhq-ref-severe', version, sha256: `${version}`.repeat(64) } } }) as unknown as RunJson;
    expect(mixedVersions([run('a', 1), run('b', 1)])).toEqual([]);
    const [w] = mixedVersions([run('a', 1), run('b', 2), run('c', 1)]);
    expect(w).toMatch(/^WARNING: runs of benchmark ffhq-ref-severe use different protocol versions \(v1 \(11111111\): a, c; v2 \(22222222\): b\): their numbers are NOT comparable$/);
  });
});
