/**
 * @file `fetchEntry` against a local HTTP server on 127.0.0.1: range resume after a dropped connection, sha256
 * check (wrong hash deletes the download), pinning when no hash is published, and the message when a URL is
 * unreachable. Then `verify` and `convert` on the fetched files.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchEntry } from '../../../../src/lib/server/models/fetch.ts';
import { convertEntry, expandCommand } from '../../../../src/lib/server/models/convert.ts';
import { entryStatus, readLock, verifyEntry } from '../../../../src/lib/server/models/lock.ts';
import type { ModelEntry } from '../../../../src/lib/server/models/manifest.ts';

const BODY = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251));
const SHA = createHash('sha256').update(BODY).digest('hex');
const requests: { url: string; range?: string }[] = [];
let server: Server;
let base = '';
let dropFirst = true;

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push({ url: req.url!, range: req.headers.range });
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (req.url === '/missing') {
      res.writeHead(404).end();
      return;
    }
    const part = BODY.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': part.length,
      'content-type': 'application/octet-stream',
      ...(m ? { 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` } : {}),
    });
    if (req.url === '/file.bin' && dropFirst) {
      dropFirst = false;
      // Let the client receive the first chunk before the connection drops (a destroy right after the write can
      // discard it in the kernel, which would test nothing).
      res.write(part.subarray(0, 80_000), () => setTimeout(() => res.destroy(), 300));
      return;
    }
    res.end(part);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

function entry(over: Partial<ModelEntry['files'][number]> = {}, id = 'test-model'): ModelEntry {
  return {
    id,
    description: 'test',
    usedBy: [],
    licence: 'test',
    files: [{ name: 'file.bin', urls: [`${base}/file.bin`], sha256: SHA, size: '200 KB', ...over }],
    convert: { command: ['node', '-e', "require('fs').writeFileSync(process.argv[1], 'converted:' + require('fs').readFileSync(process.argv[2]).length)", '{dir}/out.onnx', '{dir}/file.bin'] },
    outputs: [`weights/${id}/out.onnx`],
  };
}

describe('models fetch / verify / convert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'refbench-models-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('resumes a dropped download with a Range request and checks the sha256', async () => {
    const e = entry();
    await expect(fetchEntry(e, { modelsDir: dir })).rejects.toThrow(/connection closed|terminated|socket|other side closed/i);
    const part = join(dir, 'weights/test-model/file.bin.part');
    expect(existsSync(part)).toBe(true);
    const partial = readFileSync(part).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(BODY.length);
    const [r] = await fetchEntry(e, { modelsDir: dir });
    expect(r.action).toBe('resumed');
    expect(requests.at(-1)!.range).toBe(`bytes=${partial}-`);
    expect(readFileSync(join(dir, 'weights/test-model/file.bin')).equals(BODY)).toBe(true);
    expect(existsSync(part)).toBe(false);
    const again = await fetchEntry(e, { modelsDir: dir });
    expect(again[0].action).toBe('already present');
  });

  it('verify re-hashes and reports a corrupted file as a hash mismatch', async () => {
    const e = entry();
    const lock = await readLock(dir);
    expect((await verifyEntry(e, lock, dir)).find((r) => r.kind === 'file')!.status).toBe('verified');
    writeFileSync(join(dir, 'weights/test-model/file.bin'), Buffer.concat([BODY.subarray(1), Buffer.from([0])]));
    const rows = await verifyEntry(e, lock, dir);
    expect(rows[0].status).toBe('hash mismatch');
    expect(rows[0].detail).toContain(`published ${SHA}`);
    // verify is read-only: the lock (even the object in memory) is unchanged, so list shows the file as changed.
    expect(entryStatus(e, lock, dir)[0].status).toBe('present');
    expect(await readLock(dir)).toEqual(lock);
    writeFileSync(join(dir, 'weights/test-model/file.bin'), BODY);
    expect(entryStatus(e, lock, dir)[0].status).toBe('present');
  });

  it('convert runs the command with placeholders expanded and records the output hash', async () => {
    const e = entry();
    expect(expandCommand(['{dir}/x'], e, { modelsDir: dir })[0]).toBe(join(dir, 'weights/test-model/x'));
    const [o] = await convertEntry(e, { modelsDir: dir });
    expect(readFileSync(join(dir, 'weights/test-model/out.onnx'), 'utf8')).toBe(`converted:${BODY.length}`);
    const lock = await readLock(dir);
    expect(lock.models['test-model'].outputs['weights/test-model/out.onnx'].sha256).toBe(o.sha256);
    writeFileSync(join(dir, 'weights/test-model/out.onnx'), 'tampered');
    const rows = await verifyEntry(e, lock, dir);
    expect(rows.find((r) => r.kind === 'output')!.status).toBe('hash mismatch');
    const bad = { ...e, convert: { command: ['node', '-e', 'process.stderr.write("boom"); process.exit(3)'] } };
    await expect(convertEntry(bad, { modelsDir: dir })).rejects.toThrow(/exited with code 3[\s\S]*boom/);
  });

  it('deletes a download whose hash is wrong', async () => {
    const e = entry({ sha256: 'f'.repeat(64) }, 'wrong-hash');
    await expect(fetchEntry(e, { modelsDir: dir })).rejects.toThrow(/wrong hash.*published f{64}.*deleted/);
    expect(existsSync(join(dir, 'weights/wrong-hash/file.bin'))).toBe(false);
    expect(existsSync(join(dir, 'weights/wrong-hash/file.bin.part'))).toBe(false);
  });

  it('pins the hash of a file with no published sha256, then holds it to that hash', async () => {
    const e = entry({ sha256: null, urls: [`${base}/missing`, `${base}/plain.bin`] }, 'pinned');
    const [r] = await fetchEntry(e, { modelsDir: dir });
    expect(r.sha256).toBe(SHA);
    const lock = await readLock(dir);
    expect(lock.models.pinned.files['file.bin'].pinned).toBe(SHA);
    writeFileSync(join(dir, 'weights/pinned/file.bin'), 'other bytes');
    expect((await verifyEntry(e, lock, dir))[0].detail).toContain(`pinned at first fetch ${SHA}`);
  });

  it('fails with the URL and how to place the file by hand when the server is unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/nope.bin`;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = entry({ urls: [url] }, 'offline');
    const err = await fetchEntry(e, { modelsDir: dir }).catch((x: Error) => x);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain(`${url}: ECONNREFUSED (network unreachable?)`);
    expect((err as Error).message).toContain(`place it at ${join(dir, 'weights/offline/file.bin')} (sha256 ${SHA})`);
  });
});
