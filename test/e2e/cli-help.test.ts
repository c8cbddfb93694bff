/**
 * The CLI's own texts (papercuts of issue 11): every path an example in any `--help` names exists (shipped
 * files), matches the results layout (results/runs/<id>/..., results/bench/<id>) or is a manifest output
 * (models/weights/...); `--version` prints the package version; lists of runs are never cut silently.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';
import { cli } from '../helpers/cli.ts';

const REPO = join(import.meta.dirname, '../..');

/** Every command's full help text (the program and each subcommand, recursively). */
function helpTexts(): { cmd: string; text: string }[] {
  const out: { cmd: string; text: string }[] = [];
  const walk = (c: Command, name: string) => {
    let text = '';
    c.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
    c.outputHelp();
    out.push({ cmd: name, text });
    for (const s of c.commands) walk(s, `${name} ${s.name()}`);
  };
  walk(buildProgram(), 'refbench');
  return out;
}

const SHIPPED = /^(examples|benchmarks|test|python|scripts|docs|bench|src)\//;
/** Made by a setup or measurement step, not shipped: the form such a path must have. */
const CREATED: readonly RegExp[] = [
  /^python\/\.venv(\/bin\/python)?$/, // bash python/setup.sh
  /^benchmarks\/measured\/refldm-torch-[\w.-]+-\d{8}T\d{6}Z\.json$/, // bash scripts/gpu-bench.sh
];
const RUN_FILES = new Set(['run.json', 'samples.jsonl', 'eval.jsonl', 'summary.json', 'outputs', 'run.lock']);

describe('--help texts', () => {
  const manifest = JSON.parse(readFileSync(join(REPO, 'models/manifest.json'), 'utf8')) as { models: { outputs?: string[] }[] };
  const outputs = new Set(manifest.models.flatMap((m) => m.outputs ?? []).map((o) => `models/${o}`));

  it('every path named in a --help text exists, or follows the results / models layout', () => {
    const bad: string[] = [];
    let checked = 0;
    for (const { cmd, text } of helpTexts()) {
      for (const raw of text.match(/(?<![\w/.-])[\w.-]+(?:\/[\w.-]+)+\/?/g) ?? []) {
        const p = raw.replace(/[.,;:)]+$/, '').replace(/\/$/, '');
        if (CREATED.some((re) => re.test(p))) continue;
        if (SHIPPED.test(p)) {
          checked++;
          if (!existsSync(join(REPO, p))) bad.push(`${cmd}: ${p} does not exist`);
        } else if (p.startsWith('results/')) {
          checked++;
          const [, kind, id, member] = p.split('/');
          const ok = (kind === 'runs' && !!id && (member === undefined || RUN_FILES.has(member))) || (kind === 'bench' && !!id && (member === undefined || member === 'fusion.json'));
          if (!ok) bad.push(`${cmd}: ${p} is not a results path (results/runs/<id>/{${[...RUN_FILES].join(',')}} or results/bench/<id>)`);
        } else if (p.startsWith('models/weights/') && /\.\w+$/.test(p)) {
          checked++;
          if (!outputs.has(p)) bad.push(`${cmd}: ${p} is not an output of models/manifest.json`);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(5);
  });

  it('run --help says it exits 3 when samples failed, and names --allow-failures', () => {
    const run = helpTexts().find((h) => h.cmd === 'refbench run')!.text;
    expect(run).toMatch(/--allow-failures\s+exit 0 even when samples failed/);
    expect(run).toMatch(/Exit status: 0 when every sample is scored; 3 when any sample failed/);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(new RegExp(`^refbench ${pkg.version.replace(/\./g, '\\.')}( \\(git [0-9a-f]{12}(, uncommitted changes)?\\))?\\n$`));
    }
  });
});

describe('run lists are never cut silently', () => {
  it('"Known runs" and "Ambiguous prefix" say how many more there are', async () => {
    const results = mkdtempSync(join(tmpdir(), 'refbench-known-'));
    const ids = Array.from({ length: 8 }, (_, i) => `exp-${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      mkdirSync(join(results, 'runs', id), { recursive: true });
      writeFileSync(join(results, 'runs', id, 'run.json'), '{}');
    }
    const amb = await cli(['report', 'exp-0', '--results-dir', results]);
    expect(amb.code).toBe(1);
    expect(amb.err).toContain("Ambiguous prefix 'exp-0' matches 8 runs: exp-00, exp-01, exp-02, exp-03, exp-04 … and 3 more");
    const unknown = await cli(['eval', 'nope', '--metrics', 'psnr', '--results-dir', results]);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('Known runs (8): exp-00, exp-01, exp-02, exp-03, exp-04 … and 3 more (`refbench ls` lists them all)');
    const close = await cli(['eval', 'exp-7', '--metrics', 'psnr', '--results-dir', results]);
    expect(close.err).toContain('Did you mean: exp-07');
    rmSync(results, { recursive: true, force: true });
  });
});
