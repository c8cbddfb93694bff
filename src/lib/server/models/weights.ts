/**
 * @file The weight files a run uses: hashed once (sha256-cache.ts), checked against their pins (pins.ts), and
 * recorded with their actual sha256. A pinned file whose hash changed is refused with the command that fixes
 * it; nothing runs on it, so no number is ever labelled with weights it was not computed with.
 */
import type { WeightFileRecord } from '../../eval/types.ts';
import { pinOf } from './pins.ts';
import { sha256Cache, type Sha256Cache } from './sha256-cache.ts';

export type { WeightFileRecord };

/** A pinned weight file whose hash changed; the message lists every such file with its fix. */
export class WeightHashError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'WeightHashError';
  }
}

/**
 * Hashes one weight file (from the cache when unchanged) and checks it against its pin. Every restorer and
 * metric calls this for each file BEFORE reading it, and exposes the records as `weightFiles` (recorded in
 * run.json by the runner), so nothing is ever computed with a pinned file whose hash changed.
 * @param name a short name for run.json (`trunk`, `unet.onnx`, `reference statistics`).
 * @throws WeightHashError naming the file, both hashes, the model and the command that fixes it; Error naming
 *   a file that is missing or unreadable.
 */
export async function weightFile(path: string, name: string, cache: Sha256Cache = sha256Cache()): Promise<WeightFileRecord> {
  const h = await cache.sha256(path);
  const pin = await pinOf(h.path);
  if (pin) {
    const problem = pin.check(h.sha256);
    if (problem) {
      throw new WeightHashError([
        `${h.path}: ${problem}: this ${pin.kind === 'file' ? 'download' : 'model file'} of '${pin.model}' (${pin.root}/manifest.json) ` +
          `changed since it was pinned; ${pin.fix}`,
      ]);
    }
  }
  return { name, path: h.path, sha256: h.sha256, sizeBytes: h.sizeBytes, ...(pin ? { model: pin.model } : {}), pinned: !!pin?.pinned };
}
