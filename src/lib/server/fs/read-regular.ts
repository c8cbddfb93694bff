/**
 * @file Reading an input file (dataset image, reference CSV) that must be a regular file. A named pipe, socket or
 * device put where an image or CSV should be would make a plain `readFile` block forever (a FIFO's open waits
 * for a writer) or read without end; a directory fails with a message that does not say which file. Every
 * reader of user-supplied input files goes through here.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Thrown when the path exists but is not a regular file; `code` is 'EISDIR' for a folder, else 'ENOTFILE'. */
export class NotRegularFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: 'EISDIR' | 'ENOTFILE',
  ) {
    super(`${path}: ${code === 'EISDIR' ? 'is a directory, not a file' : 'is not a regular file (a named pipe, socket or device)'}`);
    this.name = 'NotRegularFileError';
  }
}

/**
 * The bytes of `path`, which must be a regular file (symlinks to one are followed).
 * NOTE: opened with O_NONBLOCK so that opening a FIFO returns at once (then refused by its type); the flag has no
 * effect on reads of regular files.
 * @throws NodeJS.ErrnoException from open (ENOENT, EACCES...) or NotRegularFileError.
 */
export async function readRegularFile(path: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, st.isDirectory() ? 'EISDIR' : 'ENOTFILE');
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
