import { describe, expect, it } from 'vitest';
import { parsePythonStringList, PythonListError } from '../../../../src/lib/eval/datasets/python-list.ts';

describe('parsePythonStringList', () => {
  it('parses single- and double-quoted names with commas, spaces and escapes', () => {
    expect(parsePythonStringList("['00001.png', '00002.png']")).toEqual(['00001.png', '00002.png']);
    expect(parsePythonStringList(`["a, b.png", 'c d.png' ,"it's.png"]`)).toEqual(['a, b.png', 'c d.png', "it's.png"]);
    expect(parsePythonStringList("['it\\'s.png', 'back\\\\slash.png', 'tab\\there', '\\x41\\u00e9']")).toEqual([
      "it's.png",
      'back\\slash.png',
      'tab\there',
      'Aé',
    ]);
    // Python keeps unknown escapes verbatim.
    expect(parsePythonStringList("['a\\d.png']")).toEqual(['a\\d.png']);
  });
  it('accepts the empty list, a trailing comma and surrounding whitespace', () => {
    expect(parsePythonStringList('[]')).toEqual([]);
    expect(parsePythonStringList('  [ ]  ')).toEqual([]);
    expect(parsePythonStringList("['x.png',]")).toEqual(['x.png']);
    expect(parsePythonStringList("[\n 'x.png' ,\n 'y.png' , ]")).toEqual(['x.png', 'y.png']);
  });
  it('concatenates adjacent literals like Python', () => {
    expect(parsePythonStringList("['a' \"b\", 'c']")).toEqual(['ab', 'c']);
  });
  it.each([
    ["'a.png'", /expected '\['/],
    ["['a.png' 'b.png'", /expected ',' or '\]'/],
    ["['a.png', 'b.png'", /expected ',' or '\]'|expected a quoted string/],
    ["['a.png]", /unterminated string/],
    ['[1, 2]', /expected a quoted string, got '1'/],
    ["['a.png'] extra", /unexpected text after the list/],
    ["[['a.png']]", /expected a quoted string/],
    ['["a.png" "b.png" c]', /expected ',' or '\]', got 'c'/],
    ["['a', , 'b']", /expected a quoted string, got ','/],
    ["['\\x4']", /bad \\x escape/],
    ['', /end of text/],
  ])('rejects %j', (text, msg) => {
    expect(() => parsePythonStringList(text)).toThrow(PythonListError);
    expect(() => parsePythonStringList(text)).toThrow(msg);
  });
  it('never uses JSON semantics', () => {
    expect(() => JSON.parse("['a.png']")).toThrow();
    expect(parsePythonStringList("['a.png']")).toEqual(['a.png']);
  });
});
