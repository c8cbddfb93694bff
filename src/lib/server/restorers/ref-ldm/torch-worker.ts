/**
 * @file The client side of the PyTorch worker (python/refbench_model/worker.py): spawns the interpreter with
 * `PYTHONPATH=<repo>/python`, checks the version handshake, sends one request at a time over stdin and reads framed
 * answers from stdout (frames.ts). The worker's stderr is forwarded line by line with a prefix, and its last lines
 * are kept for error messages.
 *
 * Failure model: the worker never takes the parent down and is never waited on forever. A worker that exits
 * (crash, out of memory, killed) rejects the request in flight with `WorkerCrashError`; a request that exceeds its
 * timeout kills the worker and rejects with `WorkerTimeoutError`; a Python exception inside a request is answered
 * with an `error` frame (`WorkerRequestError`) and the worker stays up. The owner decides whether to restart.
 * The child is unreferenced while idle, so an idle worker never keeps Node alive; its stdin closing (parent exit)
 * ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute } from 'node:path';
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION, type Blob, type Frame } from './frames.ts';

/** Oldest torch the engine supports: `scaled_dot_product_attention(scale=...)` arrived in 2.1. */
export const MIN_TORCH = [2, 1] as const;
/** Oldest Python the worker's code runs on. */
export const MIN_PYTHON = [3, 9] as const;
/** Lines of the worker's stderr kept for error messages. */
const STDERR_TAIL = 20;

/** What the worker says about itself right after start. */
export interface WorkerHello {
  readonly protocol: number;
  readonly python: string;
  readonly pid: number;
  readonly executable?: string;
  readonly torch?: string;
  readonly numpy?: string;
  readonly cuda?: { readonly available: boolean; readonly version: string | null; readonly devices: readonly string[] };
  readonly error?: string;
}

export interface TorchWorkerOptions {
  /** The Python interpreter (a path, or a command name looked up on PATH). */
  readonly python: string;
  /** Directory put first on PYTHONPATH (the repository's python/). */
  readonly pythonPath: string;
  readonly cwd?: string;
  /** Prefix of forwarded stderr lines. */
  readonly label?: string;
  /** Receives every forwarded stderr line (prefixed); default: process.stderr. */
  readonly log?: (line: string) => void;
  /** Milliseconds to wait for the handshake (default 120 s: a cold `import torch` can take a while). */
  readonly startTimeoutMs?: number;
  /** Extra environment for the worker. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The worker process ended while a request was in flight (or before its handshake). */
export class WorkerCrashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerCrashError';
  }
}

/** A request ran past its timeout; the worker was killed. */
export class WorkerTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerTimeoutError';
  }
}

/** The worker answered a request with an error (a Python exception); it is still running. */
export class WorkerRequestError extends Error {
  constructor(
    message: string,
    readonly traceback?: string,
  ) {
    super(message);
    this.name = 'WorkerRequestError';
  }
}

function versionAtLeast(v: string, min: readonly number[]): boolean {
  const parts = v.split(/[.+]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < min.length; i++) {
    const x = Number.isFinite(parts[i]) ? parts[i] : 0;
    if (x !== min[i]) return x > min[i];
  }
  return true;
}

interface Pending {
  readonly what: string;
  readonly resolve: (f: Frame) => void;
  readonly reject: (e: Error) => void;
  readonly onFrame?: (f: Frame) => void;
  timer?: NodeJS.Timeout;
}

/** One running worker process. */
export class TorchWorker {
  private readonly decoder = new FrameDecoder();
  private readonly tail: string[] = [];
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private stderrRest = '';
  /** Set when this side killed the process: it counts as gone at once, before its 'exit' event arrives. */
  private killed = false;
  hello!: WorkerHello;

  private constructor(
    private readonly child: ChildProcess,
    private readonly opts: TorchWorkerOptions,
  ) {}

  /** The worker's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** False once the process has exited or been killed. */
  get alive(): boolean {
    return this.exitInfo === undefined && !this.killed;
  }

  /** The last lines the worker wrote to stderr. */
  stderrTail(): string {
    return this.tail.join(' | ');
  }

  /**
   * Spawns the worker and waits for its handshake.
   * @throws Error naming what is missing: the interpreter, torch or numpy, or a version that is too old.
   */
  static async start(opts: TorchWorkerOptions): Promise<TorchWorker> {
    const py = opts.python;
    const hint = 'create python/.venv with `bash python/setup.sh`, or set the restorer option `python: /path/to/python` to an interpreter with PyTorch ≥ 2.1 and numpy';
    if ((isAbsolute(py) || py.includes('/')) && !existsSync(py)) {
      throw new Error(`ref-ldm engine torch: no Python interpreter at ${py}; ${hint}`);
    }
    const env = { ...process.env, ...opts.env, PYTHONPATH: [opts.pythonPath, process.env.PYTHONPATH].filter(Boolean).join(delimiter), PYTHONUNBUFFERED: '1' };
    const child = spawn(py, ['-m', 'refbench_model.worker'], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const w = new TorchWorker(child, opts);
    const first = new Promise<Frame>((resolve, reject) => {
      w.pending = { what: 'starting (handshake)', resolve, reject };
    });
    w.wire();
    const timeoutMs = opts.startTimeoutMs ?? 120_000;
    w.pending!.timer = setTimeout(() => w.fail(new WorkerTimeoutError(`ref-ldm engine torch: ${py} gave no handshake within ${timeoutMs / 1000} s${w.tailNote()}`), true), timeoutMs);
    let hello: Frame;
    try {
      hello = await first;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') throw new Error(`ref-ldm engine torch: Python interpreter '${py}' not found; ${hint}`);
      if (e.code === 'EACCES') throw new Error(`ref-ldm engine torch: ${py} is not executable; ${hint}`);
      throw err;
    }
    const h = hello.header as unknown as WorkerHello & { type: string };
    if (h.type !== 'hello') {
      w.kill();
      throw new Error(`ref-ldm engine torch: expected a hello frame from ${py}, got '${h.type}'`);
    }
    w.hello = h;
    const problem = h.error
      ? `${py} (Python ${h.python}) ${h.error}; install PyTorch ≥ ${MIN_TORCH.join('.')} and numpy into it, or point \`python\` at an interpreter that has them`
      : h.protocol !== PROTOCOL_VERSION
        ? `the worker speaks protocol ${h.protocol}, this refbench speaks ${PROTOCOL_VERSION} (python/ and src/ are from different versions)`
        : !versionAtLeast(h.python, MIN_PYTHON)
          ? `${py} is Python ${h.python}; the worker needs ≥ ${MIN_PYTHON.join('.')}`
          : !versionAtLeast(h.torch ?? '0', MIN_TORCH)
            ? `${py} has torch ${h.torch}; the engine needs ≥ ${MIN_TORCH.join('.')} (scaled_dot_product_attention with a scale)`
            : undefined;
    if (problem) {
      await w.close();
      throw new Error(`ref-ldm engine torch: ${problem}`);
    }
    w.setRef(false);
    return w;
  }

  private tailNote(): string {
    return this.tail.length ? `; its last stderr lines: ${this.stderrTail()}` : '';
  }

  private wire(): void {
    const label = this.opts.label ?? '[ref-ldm torch]';
    const log = this.opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.decoder.push(chunk);
      } catch (err) {
        this.fail(new WorkerCrashError(`ref-ldm engine torch: unreadable output from the worker (${(err as Error).message})`), true);
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (s: string) => {
      const lines = (this.stderrRest + s).split('\n');
      this.stderrRest = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        this.tail.push(line.trim());
        if (this.tail.length > STDERR_TAIL) this.tail.shift();
        log(`${label} ${line}`);
      }
    });
    // EPIPE when the worker is gone: the 'exit' handler reports it.
    this.child.stdin!.on('error', () => undefined);
    // If Node exits first (e.g. a second Ctrl-C), do not leave the worker finishing an image nobody will read.
    const onParentExit = () => this.kill();
    process.once('exit', onParentExit);
    this.child.once('exit', () => process.off('exit', onParentExit));
    this.child.on('error', (err) => this.fail(err, false));
    this.child.on('exit', (code, signal) => {
      this.exitInfo = { code, signal };
      if (this.stderrRest.trim()) {
        this.tail.push(this.stderrRest.trim());
        log(`${label} ${this.stderrRest}`);
        this.stderrRest = '';
      }
      const how = signal ? `was killed by ${signal}${signal === 'SIGKILL' ? ' (out of memory, or killed)' : ''}` : `exited with code ${code}`;
      this.fail(new WorkerCrashError(`the PyTorch worker (pid ${this.child.pid}) ${how} while ${this.pending?.what ?? 'idle'}${this.tailNote()}`), false);
    });
  }

  private onFrame(f: Frame): void {
    const p = this.pending;
    if (!p) return; // nothing asked: ignore (e.g. a late frame after a timeout)
    if (f.header.type === 'step') {
      p.onFrame?.(f);
      return;
    }
    this.pending = undefined;
    if (p.timer) clearTimeout(p.timer);
    this.setRef(false);
    if (f.header.type === 'error') p.reject(new WorkerRequestError(String(f.header.message ?? 'unknown error'), f.header.traceback as string | undefined));
    else p.resolve(f);
  }

  private fail(err: Error, kill: boolean): void {
    const p = this.pending;
    this.pending = undefined;
    if (p?.timer) clearTimeout(p.timer);
    if (kill) this.kill();
    p?.reject(err);
  }

  private setRef(on: boolean): void {
    const handles = [this.child, this.child.stdout, this.child.stderr, this.child.stdin] as unknown as { ref?: () => void; unref?: () => void }[];
    for (const h of handles) (on ? h?.ref : h?.unref)?.call(h);
  }

  /** SIGKILL (no-op once exited). */
  kill(): void {
    if (this.alive) {
      this.killed = true;
      this.child.kill('SIGKILL');
    }
  }

  /**
   * Sends one request and resolves with the worker's answer (any frame but `step`; `step` frames go to
   * `onFrame`). Requests are serialised.
   * @throws WorkerRequestError (worker still up), WorkerCrashError, WorkerTimeoutError (worker killed).
   */
  request(header: Readonly<Record<string, unknown>> & { type: string }, blobs: readonly Blob[] = [], o: { timeoutMs?: number; what?: string; onFrame?: (f: Frame) => void } = {}): Promise<Frame> {
    const run = () =>
      new Promise<Frame>((resolve, reject) => {
        if (!this.alive) {
          reject(new WorkerCrashError(`the PyTorch worker (pid ${this.child.pid}) is not running${this.tailNote()}`));
          return;
        }
        const what = o.what ?? header.type;
        this.pending = { what, resolve, reject, onFrame: o.onFrame };
        if (o.timeoutMs && o.timeoutMs > 0) {
          this.pending.timer = setTimeout(
            () => this.fail(new WorkerTimeoutError(`the PyTorch worker (pid ${this.child.pid}) took longer than ${o.timeoutMs! / 1000} s ${what}; it was killed${this.tailNote()}`), true),
            o.timeoutMs,
          );
        }
        this.setRef(true);
        this.child.stdin!.write(encodeFrame(header, blobs));
      });
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  /** Asks the worker to exit; kills it after `graceMs`. Resolves once it is gone. */
  async close(graceMs = 5000): Promise<void> {
    if (!this.alive) return;
    const gone = new Promise<void>((res) => this.child.once('exit', () => res()));
    this.setRef(true);
    try {
      this.child.stdin!.end(encodeFrame({ type: 'shutdown' }));
    } catch {
      // already closed
    }
    const t = setTimeout(() => this.kill(), graceMs);
    await gone;
    clearTimeout(t);
  }
}
