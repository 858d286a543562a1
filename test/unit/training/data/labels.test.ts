import { describe, expect, it } from 'vitest'
import { parseCsv, parseJsonLines } from '../../../../src/training/data/parse.js'
import { decodeDataset, encodeDataset } from '../../../../src/training/data/store.js'
import { subset } from '../../../../src/training/data/dataset.js'

// defect 6 (issue 11): string class labels were refused ("setosa" is not a number); defect 4: a label of 1e9 made a
// dataset of 1,000,000,001 classes
describe('class names at import', () => {
  const iris = 'sepal_length,sepal_width,petal_length,petal_width,species\n5.1,3.5,1.4,0.2,setosa\n7.0,3.2,4.7,1.4,versicolor\n6.3,3.3,6.0,2.5,virginica\n4.9,3.0,1.4,0.2,setosa\n'

  it('maps string labels to sorted class indices and keeps the names', () => {
    const ds = parseCsv(iris)
    expect(ds.labels).toEqual(['setosa', 'versicolor', 'virginica'])
    expect(Array.from(ds.y)).toEqual([0, 1, 2, 0])
    expect(ds.classes).toBe(3)
    expect(ds.features).toBe(4)
    expect(ds.x.length).toBe(16)
  })

  it('reads a first data row whose label is a name as data, not a header', () => {
    const ds = parseCsv('5.1,3.5,setosa\n7.0,3.2,versicolor\n')
    expect(ds.y.length).toBe(2)
    expect(ds.labels).toEqual(['setosa', 'versicolor'])
  })

  it('takes the class order given', () => {
    const ds = parseCsv('1,2,b\n3,4,a\n', { labels: ['b', 'a', 'c'] })
    expect(Array.from(ds.y)).toEqual([0, 1])
    expect(ds.classes).toBe(3)
    expect(ds.labels).toEqual(['b', 'a', 'c'])
  })

  it('maps names in JSON lines', () => {
    const ds = parseJsonLines('{"x":[1],"y":"dog"}\n{"x":[2],"y":"cat"}\n')
    expect(ds.labels).toEqual(['cat', 'dog'])
    expect(Array.from(ds.y)).toEqual([1, 0])
  })

  it('refuses more distinct names than the class cap', () => {
    const rows = Array.from({ length: 4097 }, (_, i) => `1,c${i}`).join('\n')
    expect(() => parseCsv(rows, { header: false })).toThrow(/4097 distinct labels exceed the cap of 4096 classes/)
  })

  it('keeps names and standardisation through the dataset file and subsets', () => {
    const ds = { ...parseCsv(iris), standardization: { mean: [1, 2, 3, 4], scale: [1, 1, 2, 2] } }
    const back = decodeDataset(encodeDataset(ds), 'iris')
    expect(back.labels).toEqual(['setosa', 'versicolor', 'virginica'])
    expect(back.standardization).toEqual(ds.standardization)
    expect(subset(back, [1]).labels).toEqual(back.labels)
    expect(subset(back, [1]).standardization).toEqual(ds.standardization)
  })
})
