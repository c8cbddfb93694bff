/**
 * @file The results store's API in one import (docs/results-format.md). Everything that reads or writes a results
 * root goes through the modules of this folder; this file re-exports the ones most callers need:
 * - hash.ts       `sha256Hex`
 * - atomic.ts     crash-safe writes (temp + fsync + rename; whole-line appends; torn-tail repair), no-symlink opens
 * - jsonl.ts      reading JSON/JSONL with per-line problems; validation before a write
 * - run-ids.ts    `<results>/runs/<runId>`: listing runs, resolving a run by directory, id or prefix
 * - run-store.ts  `RunStore`, one run directory
 * Other writers of a results root: run-lock.ts (run.lock), thumbs-write.ts (thumbs/), set-states.ts (a shard's
 * saved set-metric states), bench-files.ts (bench/<id>/fusion.json), cache-files.ts (cache/); export.ts writes
 * only outside it.
 */
export { appendJsonLine, openStoreFile, repairTornTail, writeFileAtomic, writeFileAtomicWith, writeJsonAtomic } from './atomic.ts';
export { sha256Hex } from './hash.ts';
export { problemText, readJsonl, type JsonlProblem, type JsonlRead } from './jsonl.ts';
export { listRunIds, resolveRunDir, runsRoot } from './run-ids.ts';
export { RunStore, sampleFileStem, stageRun, type SampleState, type StagedRun } from './run-store.ts';
