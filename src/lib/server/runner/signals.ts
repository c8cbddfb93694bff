/**
 * @file Ctrl-C handling for long runs: the first SIGINT/SIGTERM aborts an AbortController (the runner stops after
 * the image in flight), a second one exits at once with code 130.
 */

export interface InterruptGuard {
  readonly signal: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

/** Installs SIGINT/SIGTERM handlers; `onFirst` prints what is happening (e.g. "finishing the current image"). */
export function installInterruptGuard(onFirst: (sig: string) => void = () => {}): InterruptGuard {
  const ac = new AbortController();
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\nrefbench: second ${sig}: exiting now\n`);
      process.exit(130);
    }
    onFirst(sig);
    ac.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
