import { describe, it, expect } from 'vitest'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { CID } from 'multiformats/cid'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { ArtifactAddQuerySchema, ArtifactCidParamsSchema, ArtifactListQuerySchema } from '../../../src/storage/api-schemas.js'
import { ARTIFACT_KINDS, CanonicalCidSchema } from '../../../src/storage/protocol/artifact-record.js'
import { parseCid } from '../../../src/storage/util.js'

const V1 = 'bafybeifr26fjy7fuehm6fwg7h7yh5rh3mdi3ba5ztqagtrccbcl7x2gcdu'
const V0 = 'QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG'

describe('artifact API schemas', () => {
  const params = TypeCompiler.Compile(ArtifactCidParamsSchema)

  it.each([
    ['CIDv1 base32', V1],
    ['CIDv1 base36', CID.parse(V1).toString(base36)],
    ['CIDv1 base58btc', CID.parse(V1).toString(base58btc)],
    ['CIDv0', V0],
    ['raw-leaf CIDv1', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy']
  ])('the :cid parameter admits every CID the server parses (%s)', (_name, cid) => {
    expect(() => parseCid(cid)).not.toThrow()
    expect(params.Check({ cid })).toBe(true)
  })

  it('leaves CID parse errors to the service (ERR_INVALID_CID), refusing only foreign characters', () => {
    expect(params.Check({ cid: 'not-a-cid' })).toBe(true)
    expect(() => parseCid('not-a-cid')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_CID' }))
    expect(params.Check({ cid: 'a/b' })).toBe(false)
    expect(params.Check({ cid: '' })).toBe(false)
  })

  it('records name roots canonically: CIDv1 base32 only', () => {
    const canonical = TypeCompiler.Compile(CanonicalCidSchema)
    expect(canonical.Check(V1)).toBe(true)
    expect(canonical.Check(V0)).toBe(false)
    expect(canonical.Check(CID.parse(V1).toString(base36))).toBe(false)
  })

  it('offers exactly the record\'s kinds in the add and list queries', () => {
    const add = TypeCompiler.Compile(ArtifactAddQuerySchema)
    const list = TypeCompiler.Compile(ArtifactListQuerySchema)
    for (const kind of ARTIFACT_KINDS) {
      expect(add.Check({ name: 'x', kind })).toBe(true)
      expect(list.Check({ kind })).toBe(true)
    }
    expect(add.Check({ name: 'x', kind: 'virus' })).toBe(false)
    expect(list.Check({ kind: 'virus' })).toBe(false)
  })
})
