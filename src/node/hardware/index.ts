/**
 * The node's hardware module: the probe (CPU, RAM, GPUs, board, OS), the training-speed benchmark child, the signed
 * hardware record and its wire names, and the service that advertises and collects records and measures bandwidth.
 */
export { hardware, HardwareService, type HardwareInit, type HardwareComponents, type HardwareLibp2p, type HardwareMetrics, type MeasuredBackend } from './service.js'
export {
  HARDWARE_TOPIC, HARDWARE_DOMAIN, HARDWARE_PROTOCOL, BANDWIDTH_PROTOCOL, HARDWARE_RECORD_VERSION, MAX_HARDWARE_RECORD_BYTES,
  HardwareRecordSchema, hardwareRecordSpec, openHardwareRecord, validateHardwareGossip, hardwareSummary,
  type HardwareRecord, type PeerHardware
} from './record.js'
export { MAX_BANDWIDTH_PROBE_BYTES, type BandwidthResult } from './bandwidth.js'
export { HardwareError, HARDWARE_ERRORS, type HardwareErrorCode } from './errors.js'
export { HardwareOptionsSchema, ResourcesOptionsSchema, defaultHardwareOptions, defaultResourcesOptions, type HardwareOptions, type ResourcesOptions } from './options.js'
export { probeHardware, type ProbeInit } from './probe.js'
export { measureTrainingBackend, runBenchmarkChild, type BenchmarkChildResult, type BenchmarkChildOptions } from './benchmark-child.js'
