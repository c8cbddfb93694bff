/**
 * @file `RunStore`: a handle on one run directory (run.json, samples.jsonl, eval.jsonl, thumbs.jsonl,
 * summary.json, outputs/, run.lock). All reads and writes of a run's own files go through it.
 *
 * Crash-safety (atomic.ts): JSON files and output PNGs are replaced atomically; JSONL lines are appended whole. An
 * output PNG is renamed into place BEFORE its samples.jsonl line is appended, so every 'ok' line points to a
 * complete file; a SIGKILL loses at most the image in flight.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  EvalLineSchema,
  RunJsonSchema,
  SampleLineSchema,
  SummarySchema,
  ThumbLineSchema,
  type EvalLine,
  type RunJson,
  type SampleLine,
  type Summary,
  type ThumbLine,
} from '../../eval/results/schema.ts';
import { appendJsonLine, repairTornTail, writeFileAtomic, writeJsonAtomic } from './atomic.ts';
import { sha256Hex } from './hash.ts';
import { readJsonFile, readJsonFileIfAny, readJsonl, validForWrite, type JsonlProblem, type JsonlRead } from './jsonl.ts';
import { acquireRunLock, type HeldLock } from './run-lock.ts';

/**
 * A file-system-safe name for a sample id (ids with unsafe characters get a short hash suffix, no collisions).
 * The result only holds letters, digits, '.', '_', '-' and never starts with '.' or '-', so it is also safe as
 * a command-line argument (the command restorer's `{id}`).
 */
export function sampleFileStem(sampleId: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(sampleId) && sampleId.length <= 120) return sampleId;
  return `${sampleId.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]/, '_').slice(0, 100)}-${sha256Hex(sampleId).slice(0, 8)}`;
}

/** Latest line per sampleId (highest seq, then latest line), plus problems found while reading. */
export interface SampleState {
  readonly latest: Map<string, SampleLine>;
  readonly problems: JsonlProblem[];
  readonly lines: number;
  readonly maxSeq: number;
}

/** A handle on one run directory. All reads and writes of a run go through here. */
export class RunStore {
  readonly runJsonPath: string;
  readonly samplesPath: string;
  readonly evalPath: string;
  readonly summaryPath: string;
  readonly outputsDir: string;
  readonly lockPath: string;
  /** thumbs.jsonl: sample image → thumbnail content hash (results/thumbs.ts). */
  readonly thumbsPath: string;
  #lock: HeldLock | null = null;

  constructor(readonly dir: string) {
    this.runJsonPath = join(dir, 'run.json');
    this.samplesPath = join(dir, 'samples.jsonl');
    this.evalPath = join(dir, 'eval.jsonl');
    this.summaryPath = join(dir, 'summary.json');
    this.outputsDir = join(dir, 'outputs');
    this.lockPath = join(dir, 'run.lock');
    this.thumbsPath = join(dir, 'thumbs.jsonl');
  }

  /** Opens (creating the folders of) a run directory. */
  static create(dir: string): RunStore {
    mkdirSync(join(dir, 'outputs'), { recursive: true });
    return new RunStore(dir);
  }

  get runId(): string {
    return basename(this.dir);
  }

  exists(): boolean {
    return existsSync(this.runJsonPath);
  }

  readRunJson(): RunJson {
    return readJsonFile(this.runJsonPath, RunJsonSchema);
  }

  writeRunJson(run: RunJson): void {
    writeJsonAtomic(this.runJsonPath, run);
  }

  /**
   * Takes the run's writer lock (run-lock.ts: atomic O_EXCL create; host, pid and process start time recorded).
   * A stale lock (its process is gone, or its pid now belongs to another program) is taken over.
   * @returns why a stale lock was taken over, or null.
   * @throws when a live refbench process or another host holds it, saying how to clear it.
   */
  lock(): string | null {
    this.#lock = acquireRunLock(this.lockPath, this.dir);
    return this.#lock.tookOver;
  }

  /** Releases the lock taken by `lock()` (only if the file is still this process's lock). */
  unlock(): void {
    try {
      this.#lock?.release();
    } catch {
      /* best effort */
    }
    this.#lock = null;
  }

  /** Prepares the JSONL files for appending (cuts torn tails). Returns the bytes cut per file. */
  prepareAppend(): { samples: number; eval: number; thumbs: number } {
    return { samples: repairTornTail(this.samplesPath), eval: repairTornTail(this.evalPath), thumbs: repairTornTail(this.thumbsPath) };
  }

  /**
   * Writes a sample's PNG atomically; returns its path relative to the run directory.
   * Must complete before the sample's line is appended.
   */
  writeOutput(sampleId: string, png: Uint8Array): string {
    const rel = `outputs/${sampleFileStem(sampleId)}.png`;
    writeFileAtomic(join(this.dir, rel), png);
    return rel;
  }

  /** Copies another run's output `rel` (relative to `fromRunDir`) to the same place here (merge: a staged run). */
  copyOutputFrom(fromRunDir: string, rel: string): void {
    mkdirSync(this.outputsDir, { recursive: true });
    copyFileSync(join(fromRunDir, rel), this.outputPath(rel));
  }

  outputPath(rel: string): string {
    return join(this.dir, rel);
  }

  appendSample(line: SampleLine): void {
    appendJsonLine(this.samplesPath, validForWrite(SampleLineSchema, line, this.samplesPath));
  }

  readSamples(): SampleState {
    const r = readJsonl(this.samplesPath, SampleLineSchema);
    const latest = new Map<string, SampleLine>();
    let maxSeq = -1;
    for (const { value } of r.records) {
      maxSeq = Math.max(maxSeq, value.seq);
      const prev = latest.get(value.sampleId);
      if (!prev || value.seq >= prev.seq) latest.set(value.sampleId, value);
    }
    return { latest, problems: r.problems, lines: r.records.length, maxSeq };
  }

  appendEval(line: EvalLine): void {
    appendJsonLine(this.evalPath, validForWrite(EvalLineSchema, line, this.evalPath));
  }

  readEval(): JsonlRead<EvalLine> {
    return readJsonl(this.evalPath, EvalLineSchema);
  }

  /** Appends which thumbnails belong to one sample's images (the thumbnails themselves: results/thumbs.ts). */
  appendThumbs(line: ThumbLine): void {
    appendJsonLine(this.thumbsPath, validForWrite(ThumbLineSchema, line, this.thumbsPath));
  }

  /** Every valid thumbs.jsonl line, in file order, and the bad ones as problems (a missing file is empty). */
  readThumbs(): JsonlRead<ThumbLine> {
    return readJsonl(this.thumbsPath, ThumbLineSchema);
  }

  writeSummary(s: Summary): void {
    writeJsonAtomic(this.summaryPath, validForWrite(SummarySchema, s, this.summaryPath));
  }

  readSummary(): Summary | null {
    return readJsonFileIfAny(this.summaryPath, SummarySchema);
  }

  /** Modification time of samples.jsonl (for `ls`), or null. */
  lastWrite(): Date | null {
    return existsSync(this.samplesPath) ? statSync(this.samplesPath).mtime : null;
  }
}

/** A run being assembled (merge.ts): its store, in a temporary folder next to the target until `commit`. */
export interface StagedRun {
  readonly store: RunStore;
  /** Renames the complete run into place. */
  commit(): void;
  /** Removes the temporary folder (after a failure). */
  discard(): void;
}

/**
 * Starts a run at `runDir` that readers see only once complete: it is written in `.<runId>.<tag>-<pid>` next to
 * `runDir` (removed first if a crashed attempt left it) and renamed into place by `commit`.
 */
export function stageRun(runDir: string, tag: string): StagedRun {
  const tmp = join(dirname(runDir), `.${basename(runDir)}.${tag}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const store = RunStore.create(tmp);
  return {
    store,
    commit: () => renameSync(tmp, runDir),
    discard: () => rmSync(tmp, { recursive: true, force: true }),
  };
}
