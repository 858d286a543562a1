import { describe, it, expect } from 'vitest'
import { renderError, API_ERRORS, ApiError } from '../../../src/node/api/errors.js'
import { STORAGE_ERRORS, StorageError } from '../../../src/storage/errors.js'
import { TRAINING_ERRORS, TrainingError } from '../../../src/training/errors.js'
import { HARDWARE_ERRORS, HardwareError } from '../../../src/node/hardware/errors.js'
import { MeshError, type ErrorKind } from '../../../src/common/errors.js'

/** Every code of every table, as the error its subsystem throws. */
const everyError: Array<[string, MeshError]> = [
  ...Object.keys(STORAGE_ERRORS).map(c => [`storage ${c}`, new StorageError(c as keyof typeof STORAGE_ERRORS, 'x')] as [string, MeshError]),
  ...Object.keys(TRAINING_ERRORS).map(c => [`training ${c}`, new TrainingError(c as keyof typeof TRAINING_ERRORS, 'x')] as [string, MeshError]),
  ...Object.keys(HARDWARE_ERRORS).map(c => [`hardware ${c}`, new HardwareError(c as keyof typeof HARDWARE_ERRORS, 'x')] as [string, MeshError]),
  ...Object.keys(API_ERRORS).map(c => [`api ${c}`, new ApiError(c as keyof typeof API_ERRORS, 'x')] as [string, MeshError])
]

describe('the admin API error mapping', () => {
  it.each(everyError)('%s: a 5xx only for our bugs (internal), a 4xx with the code otherwise', (_name, err) => {
    const r = renderError(err)
    if (err.kind === 'internal') {
      expect(r).toEqual({ status: 500, code: 'ERR_INTERNAL', message: 'internal error', internal: true })
    } else {
      expect(r.status).toBeGreaterThanOrEqual(400)
      expect(r.status).toBeLessThan(500)
      expect(r).toMatchObject({ code: err.code, internal: false })
    }
  })

  it.each([
    // storage refusals that are not our bug: the quota is a 413, a fetch nobody answers is as for an unknown CID
    [new StorageError('ERR_QUOTA', 'full'), 413],
    [new StorageError('ERR_TOO_LARGE', 'big'), 413],
    [new StorageError('ERR_NOT_FOUND', 'nobody has it'), 404],
    [new StorageError('ERR_TIMEOUT', 'stalled'), 404],
    [new StorageError('ERR_FETCH', 'peers failed'), 404],
    [new StorageError('ERR_CORRUPT', 'lies about its size'), 422],
    // joining a job whose model never arrives: the storage error passes through training unchanged
    [new TrainingError('ERR_FETCH', 'model did not arrive'), 404],
    [new ApiError('ERR_BUSY', 'full'), 429],
    [new ApiError('ERR_UNAUTHORIZED', 'no'), 401],
    [new ApiError('ERR_METHOD', 'no'), 405],
    [new ApiError('ERR_URI_TOO_LONG', 'long'), 414],
    [new ApiError('ERR_UNSUPPORTED_MEDIA_TYPE', 'utf-16'), 415]
  ] as Array<[MeshError, number]>)('%s -> %i', (err, status) => {
    expect(renderError(err).status).toBe(status)
  })

  it.each(['invalid', 'not-found', 'conflict', 'unavailable', 'forbidden'] as ErrorKind[])('a MeshError of kind %s with an unknown code is a 4xx', (kind) => {
    const s = renderError(new MeshError('ERR_SOMETHING_NEW', 'x', { kind })).status
    expect(s >= 400 && s < 500).toBe(true)
  })

  it('renders fastify client errors with our codes and anything unknown as an internal 500', () => {
    expect(renderError(Object.assign(new Error('long'), { statusCode: 414 }))).toMatchObject({ status: 414, code: 'ERR_URI_TOO_LONG' })
    expect(renderError(Object.assign(new Error('bad'), { validation: [] }))).toMatchObject({ status: 400, code: 'ERR_VALIDATION' })
    expect(renderError(new TypeError('bug'))).toMatchObject({ status: 500, internal: true })
  })
})
