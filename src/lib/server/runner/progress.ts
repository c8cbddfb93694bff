/**
 * @file Progress reporting to stderr: a cli-progress bar (count, rate, ETA) on a TTY, plain periodic lines
 * otherwise (CI logs, pipes), nothing when quiet.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Advance by one finished sample (ok or error). */
  tick(status: 'ok' | 'error'): void;
  /** Stop the bar (always call, also on abort). */
  stop(): void;
}

function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

/**
 * @param total samples to do in this invocation; `already` those done before (resume), shown in the label.
 * @param mode 'auto' picks the bar on a TTY stderr.
 */
export function createProgress(total: number, already: number, opts: { quiet?: boolean; mode?: 'auto' | 'bar' | 'lines'; label?: string } = {}): Progress {
  if (opts.quiet || total === 0) return { tick() {}, stop() {} };
  const mode = opts.mode === 'auto' || !opts.mode ? (process.stderr.isTTY ? 'bar' : 'lines') : opts.mode;
  const label = opts.label ?? 'run';
  let done = 0;
  let errors = 0;
  const t0 = Date.now();
  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: `${label} [{bar}] {value}/{total} | {rate}/s | ETA {eta_formatted} | errors {errors}`,
        etaBuffer: 20,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0.00', errors: 0 });
    return {
      tick(status) {
        done++;
        if (status === 'error') errors++;
        const rate = done / Math.max(1e-3, (Date.now() - t0) / 1000);
        bar.update(done, { rate: rate.toFixed(2), errors });
      },
      stop() {
        bar.stop();
      },
    };
  }
  let lastPrint = 0;
  const line = () => {
    const el = (Date.now() - t0) / 1000;
    const rate = done / Math.max(1e-3, el);
    const eta = (total - done) / rate;
    process.stderr.write(
      `${label}: ${done}/${total}${already ? ` (+${already} done before)` : ''} | ${rate.toFixed(2)}/s | ETA ${fmtSecs(eta)} | errors ${errors}\n`,
    );
  };
  return {
    tick(status) {
      done++;
      if (status === 'error') errors++;
      const now = Date.now();
      if (now - lastPrint > 5000 || done === total) {
        lastPrint = now;
        line();
      }
    },
    stop() {},
  };
}
