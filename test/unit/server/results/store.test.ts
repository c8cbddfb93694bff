import { appendFileSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SampleLineSchema } from '../../../../src/lib/eval/results/schema.ts';
import { appendJsonLine, readJsonl, repairTornTail, RunStore, sampleFileStem } from '../../../../src/lib/server/results/store.ts';

const line = (seq: number, id: string, status: 'ok' | 'error' = 'ok') => ({ seq, sampleId: id, status, metrics: { 'time-ms': seq }, timingsMs: {}, finishedAt: 't' });
const tmp = () => mkdtempSync(join(tmpdir(), 'refbench-store-'));

describe('results store', () => {
  it('appends whole lines and reads them back', () => {
    const p = join(tmp(), 's.jsonl');
    appendJsonLine(p, line(0, 'a'));
    appendJsonLine(p, line(1, 'b'));
    const text = readFileSync(p, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const r = readJsonl(p, SampleLineSchema);
    expect(r.records.map((x) => x.value.sampleId)).toEqual(['a', 'b']);
    expect(r.problems).toEqual([]);
  });

  it('ignores a torn final line, and the writer cuts it before appending', () => {
    const p = join(tmp(), 's.jsonl');
    appendJsonLine(p, line(0, 'a'));
    appendFileSync(p, '{"seq":1,"sampleId":"b","sta');
    const r = readJsonl(p, SampleLineSchema);
    expect(r.tornTail).toBe(true);
    expect(r.records).toHaveLength(1);
    expect(r.problems).toEqual([]);
    expect(repairTornTail(p)).toBe('{"seq":1,"sampleId":"b","sta'.length);
    appendJsonLine(p, line(1, 'b'));
    const r2 = readJsonl(p, SampleLineSchema);
    expect(r2.records.map((x) => x.value.sampleId)).toEqual(['a', 'b']);
    expect(r2.tornTail).toBe(false);
  });

  it('reports a corrupt middle line with file and line number, keeps the rest', () => {
    const p = join(tmp(), 's.jsonl');
    appendJsonLine(p, line(0, 'a'));
    appendFileSync(p, 'garbage{\n');
    appendJsonLine(p, { seq: 2, sampleId: 'c' }); // schema-invalid
    appendJsonLine(p, line(3, 'd'));
    const r = readJsonl(p, SampleLineSchema);
    expect(r.records.map((x) => x.value.sampleId)).toEqual(['a', 'd']);
    expect(r.problems.map((q) => [q.file, q.line])).toEqual([
      [p, 2],
      [p, 3],
    ]);
    expect(r.problems[0].message).toMatch(/not valid JSON/);
  });

  it('last line per sampleId wins (by seq)', () => {
    const store = RunStore.create(tmp());
    store.appendSample(line(0, 'a', 'error'));
    store.appendSample(line(1, 'b'));
    store.appendSample(line(2, 'a'));
    const s = store.readSamples();
    expect(s.latest.get('a')!.status).toBe('ok');
    expect(s.maxSeq).toBe(2);
    expect(s.lines).toBe(3);
  });

  it('writes outputs atomically (no temp file left, full content) with safe names', () => {
    const dir = tmp();
    const store = RunStore.create(dir);
    const png = new Uint8Array([1, 2, 3, 4]);
    const rel = store.writeOutput('x/../y z', png);
    expect(rel).toMatch(/^outputs\/x_\.\._y_z-[0-9a-f]{8}\.png$/);
    expect([...readFileSync(join(dir, rel))]).toEqual([1, 2, 3, 4]);
    expect(readdirSync(join(dir, 'outputs')).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(sampleFileStem('00001')).toBe('00001');
  });

  it('rejects an unknown schemaVersion with a clear message', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ schemaVersion: '9.0' }));
    expect(() => new RunStore(dir).readRunJson()).toThrow(/run\.json: unsupported schemaVersion "9\.0"/);
  });
  // The writer lock (live/stale/other-host holders, concurrent lockers): test/unit/server/results/run-lock.test.ts.
});
