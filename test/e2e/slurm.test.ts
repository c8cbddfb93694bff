/**
 * @file A real single-node SLURM (scripts/slurm-local.sh: Debian's slurm-wlm + munge, no systemd) runs what issue 9's
 * SLURM recipe runs: a 3-task job array (`sbatch --array=0-2`) of a node command, then a merge job that depends on
 * it (`sbatch --dependency=afterok:<array> --wait`): first with a trivial node command, then docs/slurm.md's recipe
 * itself (`refbench run --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`, then `refbench merge`), whose merged
 * run must equal a local unsharded run (per-image values identical, FID/KID within 1e-9 relative). Each test run
 * starts its own cluster in a temporary folder on free ports, so concurrent `npm test`s do not meet, and stops it
 * afterwards.
 *
 * Skipped, saying why, only where SLURM is missing and `scripts/slurm-local.sh install` fails (no apt-get, not root,
 * no package mirror). `.ci/run` installs it before `npm test`.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { perImage, relDiff, runDirs, setValues, writeShardFixture } from '../helpers/shard-fixture.ts';
import { cli } from '../helpers/cli.ts';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../..');
const SCRIPT = join(REPO, 'scripts/slurm-local.sh');
const NEEDED = ['sbatch', 'squeue', 'slurmctld', 'slurmd', 'munged'];

const missing = () => NEEDED.filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);

/** '' when SLURM can run here (installing it through the script when it is missing), else why it cannot. */
function unavailable(): string {
  if (missing().length === 0) return '';
  const r = spawnSync('bash', [SCRIPT, 'install'], { encoding: 'utf8', timeout: 300_000 });
  if (r.status === 0 && missing().length === 0) return '';
  const why = `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim().split('\n').pop() || `exit ${r.status}`;
  return `${missing().join(', ')} not found and scripts/slurm-local.sh install failed: ${why}`;
}
const SKIP = unavailable();

/** A single-quoted shell word. */
const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Two distinct free TCP ports on 127.0.0.1 (held open together so they differ). */
async function freePorts(): Promise<[number, number]> {
  const servers = [createServer(), createServer()];
  await Promise.all(servers.map((s) => new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return [ports[0], ports[1]];
}

describe.skipIf(SKIP !== '')(`SLURM job array + dependent merge on a local cluster${SKIP ? ` (skipped: ${SKIP})` : ''}`, () => {
  const root = mkdtempSync(join(tmpdir(), 'refbench-slurm-test-'));
  const cluster = join(root, 'cluster');
  const env = { ...process.env, SLURM_CONF: join(cluster, 'etc', 'slurm.conf') };

  /** The daemons' last log lines, for failure messages. */
  const logs = () =>
    ['log/slurmctld.log', 'log/slurmd.log']
      .map((f) => {
        try {
          return `--- ${f}\n${readFileSync(join(cluster, f), 'utf8').split('\n').slice(-15).join('\n')}`;
        } catch {
          return `--- ${f}: missing`;
        }
      })
      .join('\n');

  /** Runs a SLURM client command against this test's cluster; a failure carries its stderr and the daemons' logs. */
  async function slurm(cmd: string, args: string[], timeout = 60_000): Promise<string> {
    try {
      return (await run(cmd, args, { env, timeout, encoding: 'utf8' })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${cmd} ${args.join(' ')} failed: ${err.stderr || err.message}\n${logs()}`);
    }
  }

  /** `sbatch --parsable ...`: the job id. */
  const sbatch = async (args: string[], timeout = 60_000) => (await slurm('sbatch', ['--parsable', ...args], timeout)).trim().split(';')[0];

  beforeAll(async () => {
    const [ctld, slurmd] = await freePorts();
    await run('bash', [SCRIPT, 'start', '--dir', cluster, '--ctld-port', String(ctld), '--slurmd-port', String(slurmd), '--timeout', '30'], {
      timeout: 45_000,
    });
  }, 60_000);

  afterAll(async () => {
    await run('bash', [SCRIPT, 'stop', '--dir', cluster], { timeout: 30_000 });
    // Nothing of this cluster is left running: `status` exits 3 when no daemon is alive.
    const status = spawnSync('bash', [SCRIPT, 'status', '--dir', cluster], { encoding: 'utf8' });
    expect(status.status, status.stdout).toBe(3);
    expect(status.stdout).not.toMatch(/: running/);
    rmSync(root, { recursive: true, force: true });
  }, 45_000);

  it('runs three array tasks with their index and count, then the merge job after all of them', async () => {
    const work = join(root, 'work');
    const out = join(work, 'out');
    mkdirSync(out, { recursive: true });

    // A trivial node command per array task: it records the task index and count that SLURM gives it. Issue 9's recipe
    // puts `refbench run spec.yaml --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT` here.
    const task = `const e = process.env;
      require('fs').writeFileSync(process.argv[1] + '/task-' + e.SLURM_ARRAY_TASK_ID + '.json',
        JSON.stringify({ task: Number(e.SLURM_ARRAY_TASK_ID), count: Number(e.SLURM_ARRAY_TASK_COUNT), array: e.SLURM_ARRAY_JOB_ID }));
      console.log('task ' + e.SLURM_ARRAY_TASK_ID + ' of ' + e.SLURM_ARRAY_TASK_COUNT);
      console.error('stderr of task ' + e.SLURM_ARRAY_TASK_ID);`;
    writeFileSync(
      join(work, 'task.sh'),
      ['#!/bin/bash', `#SBATCH --output=${out}/task-%A_%a.out`, `#SBATCH --error=${out}/task-%A_%a.err`, `exec ${q(process.execPath)} -e ${q(task)} ${q(work)}`, ''].join('\n'),
    );
    // The merge step reads every task's file; issue 9's recipe runs `refbench merge <shard runs...>` here.
    const merge = `const fs = require('fs'), d = process.argv[1];
      const tasks = fs.readdirSync(d).filter((f) => /^task-\\d+\\.json$/.test(f)).map((f) => JSON.parse(fs.readFileSync(d + '/' + f, 'utf8')));
      fs.writeFileSync(d + '/merged.json', JSON.stringify(tasks.sort((a, b) => a.task - b.task)));`;
    writeFileSync(join(work, 'merge.sh'), ['#!/bin/bash', `exec ${q(process.execPath)} -e ${q(merge)} ${q(work)}`, ''].join('\n'));

    const t0 = Date.now();
    const array = await sbatch(['--array=0-2', '--chdir', work, join(work, 'task.sh')]);
    // Submitted right away, while the array's record exists. NOTE: a dependency on a job the controller has already
    // purged (MinJobAge after it ended) counts as satisfied, and without --kill-on-invalid-dep a failed task would
    // leave the merge pending forever (and this --wait with it).
    const merged = await sbatch([
      `--dependency=afterok:${array}`,
      '--kill-on-invalid-dep=yes',
      '--wait',
      '--chdir',
      work,
      `--output=${out}/merge-%j.out`,
      join(work, 'merge.sh'),
    ]);
    const seconds = (Date.now() - t0) / 1000;

    for (const i of [0, 1, 2]) {
      expect(JSON.parse(readFileSync(join(work, `task-${i}.json`), 'utf8'))).toEqual({ task: i, count: 3, array });
      expect(readFileSync(join(out, `task-${array}_${i}.out`), 'utf8')).toBe(`task ${i} of 3\n`);
      expect(readFileSync(join(out, `task-${array}_${i}.err`), 'utf8')).toBe(`stderr of task ${i}\n`);
    }
    // NOTE: `sbatch --wait` exits 0 for a merge job cancelled before it ran, so its output is what proves it ran, after
    // all three tasks.
    expect(JSON.parse(readFileSync(join(work, 'merged.json'), 'utf8')).map((t: { task: number }) => t.task)).toEqual([0, 1, 2]);
    expect(readdirSync(out).sort()).toEqual([...[0, 1, 2].flatMap((i) => [`task-${array}_${i}.err`, `task-${array}_${i}.out`]), `merge-${merged}.out`].sort());
    expect((await slurm('squeue', ['-h'])).trim()).toBe('');
    expect(seconds).toBeLessThan(30);
  });

  it('three `refbench run --shard` array tasks merged by a dependent `refbench merge` job equal a local unsharded run', async () => {
    const work = join(root, 'refbench');
    const logs = join(work, 'logs');
    mkdirSync(logs, { recursive: true });
    const spec = await writeShardFixture(work);
    const shards = join(work, 'shards');
    const merged = join(work, 'merged');
    const cliPath = join(REPO, 'bin', 'refbench.js');
    // docs/slurm.md's recipe: run-shards.sbatch and merge.sbatch, with this checkout's CLI and this test's folders.
    writeFileSync(
      join(work, 'run-shards.sbatch'),
      [
        '#!/bin/bash',
        `#SBATCH --output=${logs}/shard-%A_%a.out`,
        `#SBATCH --error=${logs}/shard-%A_%a.err`,
        'set -euo pipefail',
        `exec ${q(process.execPath)} ${q(cliPath)} run ${q(spec)} --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --results-dir ${q(shards)}/shard-"$SLURM_ARRAY_TASK_ID" --progress lines`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(work, 'merge.sbatch'),
      ['#!/bin/bash', 'set -euo pipefail', `exec ${q(process.execPath)} ${q(cliPath)} merge --results-dir ${q(merged)} ${q(shards)}/shard-*/runs/*`, ''].join('\n'),
    );
    const array = await sbatch(['--array=0-2', '--chdir', REPO, join(work, 'run-shards.sbatch')]);
    // Submitted at once (see the first test for why), waiting for the merge.
    const mergeJob = await sbatch([
      `--dependency=afterok:${array}`,
      '--kill-on-invalid-dep=yes',
      '--wait',
      '--chdir',
      REPO,
      `--output=${logs}/merge-%j.out`,
      join(work, 'merge.sbatch'),
    ], 540_000);
    const taskLogs = () => readdirSync(logs).map((f) => `--- ${f}\n${readFileSync(join(logs, f), 'utf8').slice(-2000)}`).join('\n');
    // NOTE: `sbatch --wait` exits 0 for a merge cancelled because a task failed: the merged run is the proof.
    expect(existsSync(join(merged, 'runs')), taskLogs()).toBe(true);
    expect(readFileSync(join(logs, `merge-${mergeJob}.out`), 'utf8')).toMatch(/7\/7 ok/);
    const shardDirs = [0, 1, 2].flatMap((i) => runDirs(join(shards, `shard-${i}`)));
    expect(shardDirs.map((d) => JSON.parse(readFileSync(join(d, 'run.json'), 'utf8')).shard.index)).toEqual([0, 1, 2]);

    // The same spec run locally, unsharded.
    const local = await cli(['run', spec, '--results-dir', join(work, 'local'), '-q']);
    expect(local.code, local.err).toBe(0);
    const [full] = runDirs(join(work, 'local'));
    const [one] = runDirs(merged);
    expect(perImage(one)).toEqual(perImage(full));
    expect(Object.keys(perImage(one))).toHaveLength(7);
    const a = setValues(one);
    const b = setValues(full);
    for (const id of ['fid-clean', 'kid-clean']) {
      expect(a[id].n).toBe(7);
      expect(relDiff(a[id].value, b[id].value), `${id}: merged ${a[id].value} vs local ${b[id].value}`).toBeLessThan(1e-9);
    }
    expect(JSON.parse(readFileSync(join(one, 'run.json'), 'utf8')).dataset).toEqual(JSON.parse(readFileSync(join(full, 'run.json'), 'utf8')).dataset);
    expect((await slurm('squeue', ['-h'])).trim()).toBe('');
  }, 600_000);
});
