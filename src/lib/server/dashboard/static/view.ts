/**
 * @file A results folder holding only some runs, for `refbench dashboard --static OUT --runs a,b`: the dashboard
 * then renders the leaderboard, shared samples and best marks of exactly those runs, as a live dashboard over
 * them would. Files are hard links where the file system allows (no copy; the dashboard serves only files whose
 * real path lies inside its results folder, so symbolic links would not do), copies otherwise; thumbnails only
 * those the chosen runs use.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { RunStore, runsRoot } from '../../results/store.ts';
import { thumbPath } from '../../results/thumbs.ts';

function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // a thumbnail a run names but that was never written: the dashboard says so
    if (code === 'EEXIST') return; // a thumbnail two runs share
    copyFileSync(from, to);
  }
}

function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) {
    if (e.name === 'run.lock') continue;
    if (e.isDirectory()) linkTree(join(from, e.name), join(to, e.name));
    else if (e.isFile()) linkOrCopy(join(from, e.name), join(to, e.name));
  }
}

/**
 * Makes the view in the temp folder; its results folder has the same base name as `resultsDir` (the leaderboard
 * names it).
 * @returns the view's results folder and a function that removes the view.
 */
export function makeRunsView(resultsDir: string, runIds: readonly string[]): { resultsDir: string; root: string; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'refbench-static-view-'));
  const view = join(root, basename(resultsDir));
  try {
    for (const id of runIds) {
      linkTree(join(runsRoot(resultsDir), id), join(runsRoot(view), id));
      for (const line of new RunStore(join(runsRoot(resultsDir), id)).readThumbs().records) {
        for (const sha of Object.values(line.value.images)) {
          const to = thumbPath(view, sha);
          mkdirSync(join(to, '..'), { recursive: true });
          linkOrCopy(thumbPath(resultsDir, sha), to);
        }
      }
    }
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return { resultsDir: view, root, remove: () => rmSync(root, { recursive: true, force: true }) };
}
