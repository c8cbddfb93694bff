import { describe, expect, it } from 'vitest';
import { parseCsvRecords, parseCsvTable } from '../../../../src/lib/eval/datasets/csv.ts';

describe('parseCsvRecords', () => {
  it('handles quoted fields, embedded commas, "" escapes, CRLF and embedded newlines with line numbers', () => {
    const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n\r\n2,"multi\nline",z\n3,,\n';
    const { records, problems } = parseCsvRecords(text, 'f.csv');
    expect(problems).toEqual([]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 4, 6]);
    expect(records[1].fields).toEqual(['1', 'x, y', 'say "hi"']);
    expect(records[2].fields).toEqual(['2', 'multi\nline', 'z']);
    expect(records[3].fields).toEqual(['3', '', '']);
  });
  it('strips a BOM and accepts a missing final newline', () => {
    const { records } = parseCsvRecords('\ufeffa,b\n1,2', 'f.csv');
    expect(records.map((r) => r.fields)).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
  });
  it('reports malformed lines with file and line, and keeps going', () => {
    const { records, problems } = parseCsvRecords('a,b\n1,"x"y\n2,b"c\n3,"open\n', 'f.csv');
    expect(records.map((r) => r.line)).toEqual([1]);
    expect(problems.map((p) => [p.file, p.line])).toEqual([
      ['f.csv', 2],
      ['f.csv', 3],
      ['f.csv', 4],
    ]);
    expect(problems[0].message).toMatch(/after a closing quote/);
    expect(problems[1].message).toMatch(/double quote inside an unquoted field/);
    expect(problems[2].message).toMatch(/unterminated/);
  });
});

describe('parseCsvTable', () => {
  it('checks the header and the field count per line', () => {
    const bad = parseCsvTable('gt_image,lq,ref_image\n', 'm.csv', ['gt_image', 'lq_image', 'ref_image']);
    expect(bad.table).toBeUndefined();
    expect(bad.problems[0]).toMatchObject({ file: 'm.csv', line: 1 });
    expect(bad.problems[0].message).toMatch(/expected 'gt_image,lq_image,ref_image'/);
    const r = parseCsvTable('gt_image,lq_image,ref_image\na.png,a.png,[]\nb.png,b.png\n', 'm.csv', ['gt_image', 'lq_image', 'ref_image']);
    expect(r.table?.records.length).toBe(1);
    expect(r.problems).toEqual([{ file: 'm.csv', line: 3, message: 'expected 3 fields (gt_image,lq_image,ref_image), got 2' }]);
  });
});
