/**
 * @file sha256 of bytes or text, as lowercase hex: the one hash of the results store (input, output, dataset and
 * spec hashes; content-addressed thumbnails).
 */
import { createHash } from 'node:crypto';

/** sha256 hex of bytes or a string. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
