/**
 * @file Test-only child for the run-lock race test: waits for `try <runDir> <epochMs>` lines on stdin, spins until
 * that wall-clock millisecond (so every child calls `lock()` in the same millisecond), then answers `won` or
 * `lost <message>` on stdout; `release` drops a lock it holds, `exit` ends it.
 * Usage: node --import tsx test/unit/server/results/lock-child.ts
 */
import { createInterface } from 'node:readline';
import { RunStore } from '../../../../src/lib/server/results/store.ts';

let held: RunStore | null = null;
process.stdout.write('ready\n');
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, dir, at] = line.split(' ');
  if (cmd === 'try') {
    const store = new RunStore(dir);
    while (Date.now() < Number(at)) {
      /* spin: start together */
    }
    try {
      store.lock();
      held = store;
      process.stdout.write('won\n');
    } catch (err) {
      process.stdout.write(`lost ${(err as Error).message.replace(/\n/g, ' ')}\n`);
    }
  } else if (cmd === 'release') {
    held?.unlock();
    held = null;
    process.stdout.write('released\n');
  } else if (cmd === 'exit') break;
}
