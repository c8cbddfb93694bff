/**
 * @file Step 5 of a run (evaluate.ts): what is left to do. Under the run's lock: cuts a torn final line left by an
 * interrupted run, reads the samples already recorded, refuses to resume over changed inputs, and lists the samples
 * to evaluate (those with no line yet, and with `--retry-failed` those whose last line is an error).
 */
import type { SampleRef } from '../../eval/datasets/types.ts';
import type { SampleLine } from '../../eval/results/schema.ts';
import { listWithMore } from '../../format.ts';
import { problemText, type RunStore } from '../results/store.ts';

/** One sample to evaluate, with its input hash (inputs.ts). */
export interface SampleToDo {
  readonly s: SampleRef;
  readonly inputHash: string;
}

/** What a call of the run does: the samples to evaluate, how many are done already, and the next line's `seq`. */
export interface ResumePlan {
  readonly todo: readonly SampleToDo[];
  readonly already: number;
  readonly nextSeq: number;
}

/**
 * The samples already scored 'ok' whose input files have another hash now. (Inputs of failed samples may change:
 * fixing a broken file and `--retry-failed` is a normal workflow.)
 */
export function changedInputs(samples: readonly SampleRef[], inputHashes: readonly string[], latest: ReadonlyMap<string, SampleLine>): SampleRef[] {
  return samples.filter((s, i) => {
    const last = latest.get(s.id);
    return last?.status === 'ok' && last.inputHash !== undefined && last.inputHash !== inputHashes[i];
  });
}

/** The samples with no line yet, and (with `retryFailed`) those whose last line is an error, in run order. */
export function samplesToDo(samples: readonly SampleRef[], inputHashes: readonly string[], latest: ReadonlyMap<string, SampleLine>, retryFailed: boolean): SampleToDo[] {
  return samples
    .map((s, i) => ({ s, inputHash: inputHashes[i] }))
    .filter(({ s }) => {
      const last = latest.get(s.id);
      return !last || (last.status === 'error' && retryFailed);
    });
}

/**
 * Prepares the run's files for appending and plans this call (the caller holds the lock).
 * @throws naming the run directory and the samples when already-scored inputs changed: resuming would mix inputs.
 */
export function planResume(
  store: RunStore,
  samples: readonly SampleRef[],
  inputHashes: readonly string[],
  o: { retryFailed?: boolean; log: (msg: string) => void },
): ResumePlan {
  const cut = store.prepareAppend();
  if (cut.samples) o.log(`${store.samplesPath}: removed a torn final line (${cut.samples} bytes) left by an interrupted run`);
  const state = store.readSamples();
  for (const p of state.problems) o.log(`warning: ${problemText(p)} (${p.line !== undefined ? 'line' : 'file'} ignored)`);
  const changed = changedInputs(samples, inputHashes, state.latest);
  if (changed.length) {
    throw new Error(
      `${store.dir}: the input files of ${changed.length} already-scored sample(s) changed since this run started ` +
        `(${listWithMore(changed.map((s) => s.id))}); resuming would mix inputs. Use --fresh to start a new run.`,
    );
  }
  const todo = samplesToDo(samples, inputHashes, state.latest, !!o.retryFailed);
  return { todo, already: samples.length - todo.length, nextSeq: state.maxSeq + 1 };
}
