import { describe, expect, it } from 'vitest'
import { DatasetParseError, parseCsv, parseJsonLines, type CsvOptions } from '../../../../src/training/data/parse.js'

describe('parseCsv', () => {
  it.each<[string, string, CsvOptions, { x: number[], y: number[], features: number, classes: number }]>([
    ['label last, no header', '1,2,0\n3,4,1\n', {}, { x: [1, 2, 3, 4], y: [0, 1], features: 2, classes: 2 }],
    ['auto header, CRLF, blank lines, spaces', 'a,b,label\r\n\r\n 0.5 , -1e-1 ,2\r\n1.,.25,0\r\n', {}, { x: [0.5, -0.1, 1, 0.25], y: [2, 0], features: 2, classes: 3 }],
    ['auto header with numeric pixel names', '0,1,label\n5,6,1\n', {}, { x: [5, 6], y: [1], features: 2, classes: 2 }],
    ['label first', '3,1,2\n0,4,5\n', { labelColumn: 'first' }, { x: [1, 2, 4, 5], y: [3, 0], features: 2, classes: 4 }],
    ['label by index', '1,7,2\n3,0,4\n', { labelColumn: 1 }, { x: [1, 2, 3, 4], y: [7, 0], features: 2, classes: 8 }],
    ['explicit header', '9,9,9\n1,2,1\n', { header: true }, { x: [1, 2], y: [1], features: 2, classes: 2 }],
    ['integer-valued label written as a float', '1,2,3.0\n', {}, { x: [1, 2], y: [3], features: 2, classes: 4 }],
    ['quoted numbers', '"1","2","0"\n', {}, { x: [1, 2], y: [0], features: 2, classes: 1 }],
    ['semicolon delimiter', '1;2;0\n', { delimiter: ';' }, { x: [1, 2], y: [0], features: 2, classes: 1 }],
    ['fixed class count', '1,2,0\n', { classes: 10 }, { x: [1, 2], y: [0], features: 2, classes: 10 }]
  ])('%s', (_name, text, opts, want) => {
    const ds = parseCsv(text, opts)
    expect(Array.from(ds.x)).toEqual(want.x.map(Math.fround))
    expect(Array.from(ds.y)).toEqual(want.y)
    expect(ds.features).toBe(want.features)
    expect(ds.classes).toBe(want.classes)
  })

  it.each<[string, string, CsvOptions, number, RegExp]>([
    ['non-numeric feature', '1,2,0\n1,x,1\n', {}, 2, /line 2: column 2: "x" is not a number/],
    ['empty feature', '1,2,0\n\n1,,1\n', {}, 3, /line 3: column 2: "" is not a number/],
    ['too few columns', 'a,b,y\n1,2,0\n1,1\n', {}, 3, /line 3: expected 3 columns, got 2/],
    ['too many columns', '1,2,0\n1,2,3,4\n', {}, 2, /line 2: expected 3 columns, got 4/],
    ['negative label', '1,2,0\n1,2,-1\n', {}, 2, /line 2: label -1 is negative/],
    ['fractional label', '1,2,0.5\n', { header: false }, 1, /line 1: label 0.5 is not an integer/],
    ['label at the class cap', '1,2,0\n1,2,5000\n', {}, 2, /line 2: label 5000 is not a class index below the cap of 4096 classes/],
    ['label of 1e9', '1,2,1000000000\n', {}, 1, /line 1: label 1000000000 is not a class index below the cap/],
    ['name not in the given labels', '1,2,a\n1,2,c\n', { labels: ['a', 'b'] }, 2, /line 2: label "c" is not one of the class names given/],
    ['label above classes', '1,2,0\n1,2,10\n', { classes: 10 }, 2, /line 2: label 10 is not below classes = 10/],
    ['NaN feature', '1,NaN,0\n', { header: false }, 1, /line 1: column 2: "NaN" is not a number/],
    ['float32 overflow', '1e39,2,0\n', {}, 1, /line 1: column 1: 1e\+39 is outside the float32 range/],
    ['single column', '1\n2\n', {}, 1, /line 1: need at least one feature/],
    ['label column out of range', '1,2,0\n', { labelColumn: 3 }, 1, /label column 3 is outside/]
  ])('reports %s with its line number', (_name, text, opts, line, error) => {
    let caught: unknown
    try { parseCsv(text, opts) } catch (err) { caught = err }
    expect(caught).toBeInstanceOf(DatasetParseError)
    expect((caught as DatasetParseError).code).toBe('ERR_DATASET_PARSE')
    expect((caught as DatasetParseError).line).toBe(line)
    expect((caught as Error).message).toMatch(error)
  })

  it.each(['', '\n\n', 'a,b,label\n'])('rejects input without data rows: %j', text => {
    expect(() => parseCsv(text)).toThrow(/no data rows/)
  })

  it('checks the image shape against the width', () => {
    expect(parseCsv('1,2,3,4,0\n', { shape: [2, 2, 1] }).shape).toEqual([2, 2, 1])
    expect(() => parseCsv('1,2,3,0\n', { shape: [2, 2, 1] })).toThrow(/shape 2x2x1/)
  })
})

describe('parseJsonLines', () => {
  it('reads {features, label} and {x, y} lines, skipping blank ones', () => {
    const ds = parseJsonLines('{"features":[1,2],"label":1}\n\n{"x":[3,4],"y":0}\r\n', { name: 'mine' })
    expect(ds).toMatchObject({ name: 'mine', features: 2, classes: 2 })
    expect(Array.from(ds.x)).toEqual([1, 2, 3, 4])
    expect(Array.from(ds.y)).toEqual([1, 0])
  })

  it('grows past its first guess of the row count', () => {
    const text = Array.from({ length: 100 }, (_, i) => JSON.stringify({ x: [i, -i], y: i % 3 })).join('\n')
    const ds = parseJsonLines(text)
    expect(ds.y.length).toBe(100)
    expect(ds.x[198]).toBe(99)
    expect(ds.classes).toBe(3)
  })

  it.each<[string, string, number, RegExp]>([
    ['invalid JSON', '{"x":[1],"y":0}\n{"x":[1],', 2, /line 2: invalid JSON/],
    ['not an object', '[1,2]\n', 1, /line 1: expected a JSON object/],
    ['missing label', '{"features":[1,2]}\n', 1, /line 1: missing "label"/],
    ['missing y', '{"x":[1,2]}\n', 1, /line 1: missing "y"/],
    ['features not an array', '{"features":"1,2","label":0}\n', 1, /line 1: "features" must be an array/],
    ['mixed key styles', '{"features":[1],"y":0}\n', 1, /either \{features, label\} or \{x, y\}/],
    ['wrong width', '{"x":[1,2],"y":0}\n{"x":[1],"y":0}\n', 2, /line 2: expected 2 features, got 1/],
    ['non-numeric feature', '{"x":[1,"2"],"y":0}\n', 1, /line 1: x\[1\] = "2" is not a finite number/],
    ['null feature', '{"x":[1,null],"y":0}\n', 1, /line 1: x\[1\] = null is not a finite number/],
    ['boolean label', '{"x":[1],"y":true}\n', 1, /line 1: label true is neither a class index nor a class name/],
    ['negative label', '{"x":[1],"y":0}\n{"x":[1],"y":-2}\n', 2, /line 2: label -2 is negative/],
    ['fractional label', '{"x":[1],"y":1.5}\n', 1, /line 1: label 1.5 is not an integer/],
    ['empty features', '{"x":[],"y":0}\n', 1, /line 1: "x" is empty/]
  ])('reports %s with its line number', (_name, text, line, error) => {
    let caught: unknown
    try { parseJsonLines(text) } catch (err) { caught = err }
    expect(caught).toBeInstanceOf(DatasetParseError)
    expect((caught as DatasetParseError).line).toBe(line)
    expect((caught as Error).message).toMatch(error)
  })

  it('rejects an empty file', () => {
    expect(() => parseJsonLines('\n  \n')).toThrow(/no data rows/)
  })
})
