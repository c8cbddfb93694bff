/**
 * @file Whether a process exists, for the lock files that record their holder's pid (results/run-lock.ts, the
 * dashboard's build lock in dashboard/production.ts) and the command restorer's work folders
 * (restorers/command-process.ts).
 */

/** True when a process with this pid exists (EPERM: it exists, owned by another user). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
