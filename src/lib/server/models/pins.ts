/**
 * @file What a weight file is pinned to, and the run-time check that refuses a pinned file whose hash changed.
 *
 * A file is pinned when it lies under a models root (a folder whose `manifest.json` is a refbench model
 * manifest; found by walking up from the file) and is one of that manifest's files (`weights/<id>/<name>`:
 * pinned by the published sha256, else by the hash recorded at first fetch in `weights/lock.json`) or outputs
 * (pinned by the hash recorded at conversion). Files elsewhere (test networks, explicit paths) are not pinned:
 * their actual hash is still recorded by the run.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Lock } from './lock.ts';
import { hashProblem } from './lock.ts';
import { ManifestSchema, type Manifest, type ModelEntry } from './manifest.ts';

/** The pin of one file, when it has one. */
export interface Pin {
  /** The models root holding the manifest. */
  readonly root: string;
  readonly model: string;
  /** `file` (a download) or `output` (what `convert` made, or a file used as-is). */
  readonly kind: 'file' | 'output';
  /** Path relative to the models root. */
  readonly rel: string;
  /** null when the manifest lists the file but no hash is pinned yet. */
  check(sha256: string): string | null;
  /** The command that puts the right file back. */
  readonly fix: string;
  /** Whether a hash is pinned (published or recorded); false: listed but never fetched/converted here. */
  readonly pinned: boolean;
}

interface Root {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly lock: Lock;
}

/** Models roots found by directory (null: that directory has no model manifest), for one check. */
export type RootCache = Map<string, Promise<Root | null>>;

async function rootAt(dir: string, roots: RootCache): Promise<Root | null> {
  let p = roots.get(dir);
  if (!p) {
    p = (async () => {
      const file = join(dir, 'manifest.json');
      if (!existsSync(file)) return null;
      let manifest: Manifest;
      try {
        const r = ManifestSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
        if (!r.success) return null; // another kind of manifest.json (a dataset's, a bundle's)
        manifest = r.data;
      } catch {
        return null;
      }
      let lock: Lock = { schemaVersion: 1, models: {} };
      const lockFile = join(dir, 'weights', 'lock.json');
      if (existsSync(lockFile)) {
        try {
          lock = JSON.parse(await readFile(lockFile, 'utf8')) as Lock;
        } catch (err) {
          throw new Error(`${lockFile}: unreadable lock file (${err instanceof Error ? err.message : String(err)}); it pins model hashes, restore it or re-fetch the models`);
        }
      }
      return { dir, manifest, lock };
    })();
    roots.set(dir, p);
  }
  return p;
}

function pinIn(root: Root, abs: string): Pin | null {
  const rel = relative(root.dir, abs).split(sep).join('/');
  for (const e of root.manifest.models) {
    const locked = root.lock.models?.[e.id];
    for (const f of e.files) {
      if (rel !== `weights/${e.id}/${f.name}`) continue;
      const pinned = locked?.files?.[f.name]?.pinned;
      return {
        root: root.dir,
        model: e.id,
        kind: 'file',
        rel,
        pinned: !!(f.sha256 || pinned || f.sha256Prefix),
        check: (sha) => hashProblem(f, sha, pinned),
        fix: `delete it and fetch it again: refbench models fetch ${e.id}${outputsHint(e)}`,
      };
    }
    if (e.outputs.includes(rel)) {
      const pinned = locked?.outputs?.[rel]?.pinned;
      return {
        root: root.dir,
        model: e.id,
        kind: 'output',
        rel,
        pinned: !!pinned,
        check: (sha) => (!pinned || sha === pinned ? null : `sha256 ${sha} ≠ recorded at conversion ${pinned}`),
        fix: e.convert ? `convert it again: refbench models convert ${e.id}` : `restore it and record it again: refbench models convert ${e.id}`,
      };
    }
  }
  return null;
}

function outputsHint(e: ModelEntry): string {
  return e.convert ? ` && refbench models convert ${e.id}` : '';
}

/**
 * The pin of `abs` (an absolute, symlink-resolved path), looking for a model manifest in each parent folder.
 * @param roots manifests and locks already read during this check (they are read fresh for every check).
 * @returns null when no models root lists the file.
 */
export async function pinOf(abs: string, roots: RootCache = new Map()): Promise<Pin | null> {
  let dir = dirname(abs);
  for (;;) {
    const root = await rootAt(dir, roots);
    if (root) {
      const pin = pinIn(root, abs);
      if (pin) return pin;
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}
