/**
 * @file Where the repository is on disk: the one definition of `REPO_ROOT`, and the paths derived from it that
 * several modules share. Everything else that needs a repository path joins onto `REPO_ROOT`.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where package.json lives): this file is src/lib/server/paths.ts, three levels below it. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));

/** The project's Python directory (PYTHONPATH for the PyTorch worker and the trainer). */
export const PYTHON_DIR = join(REPO_ROOT, 'python');

/** The interpreter python/setup.sh makes; the default of the torch engine and `refbench train`. */
export const VENV_PYTHON = join(PYTHON_DIR, '.venv/bin/python');
