/** The hardware service's error codes and their kinds: one table, one class. */
import { defineErrors } from '../../common/errors.js'

/** Every code HardwareError carries, with its kind (the admin API derives the HTTP status from the kind). */
export const HARDWARE_ERRORS = {
  /** A bandwidth probe size out of range. */
  ERR_BANDWIDTH_SIZE: 'invalid',
  /** The peer closed the probe before sending every byte asked for. */
  ERR_BANDWIDTH_SHORT: 'invalid',
  /** The peer could not be dialled or the exchange broke off. */
  ERR_PEER_UNREACHABLE: 'not-found',
  /** A peer answered a record request with someone else's record. */
  ERR_SIGNER: 'invalid'
} as const

/** The union of hardware error codes. */
export type HardwareErrorCode = keyof typeof HARDWARE_ERRORS

/** Hardware probe and bandwidth failures. */
export const HardwareError = defineErrors('HardwareError', HARDWARE_ERRORS)
/** An instance of HardwareError. */
export type HardwareError = InstanceType<typeof HardwareError>
