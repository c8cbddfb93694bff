/**
 * @file Where model files live and how a consumer (metric, restorer) asks for one. Layout under the models root
 * (default `./models`): `manifest.json` (committed), `weights/<id>/<file>` (downloads and converted ONNX,
 * gitignored), `weights/lock.json` (hashes pinned at fetch / recorded at conversion).
 *
 * A consumer never falls back silently: a missing file raises `ModelMissingError`, whose message is the exact
 * command that produces it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Default models root, relative to the working directory. */
export const DEFAULT_MODELS_DIR = 'models';

/** Absolute models root for an option value. */
export function modelsRoot(modelsDir?: string): string {
  return resolve(modelsDir ?? DEFAULT_MODELS_DIR);
}

/** Folder of one model's downloads and converted outputs. */
export function modelDir(modelsDir: string | undefined, id: string): string {
  return join(modelsRoot(modelsDir), 'weights', id);
}

/** The command that makes model `id` usable. */
export function fetchConvertCommand(id: string): string {
  return `refbench models fetch ${id} && refbench models convert ${id}`;
}

/** Thrown when a consumer needs a model file that is not there. */
export class ModelMissingError extends Error {
  constructor(
    readonly modelId: string,
    readonly path: string,
    readonly consumer: string,
  ) {
    super(`${consumer}: model file ${path} not found. Run: ${fetchConvertCommand(modelId)}`);
    this.name = 'ModelMissingError';
  }
}

/**
 * Path of `file` of model `id`, which must exist.
 * @param consumer who asks (a metric id), for the error message
 * @throws ModelMissingError with the fetch + convert command.
 */
export function requireModelFile(modelsDir: string | undefined, id: string, file: string, consumer: string): string {
  const p = join(modelDir(modelsDir, id), file);
  if (!existsSync(p)) throw new ModelMissingError(id, p, consumer);
  return p;
}
