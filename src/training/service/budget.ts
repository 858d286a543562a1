/**
 * How much a node may take on, from its profile caps and measured speed. Pure, so the rules are tested by table.
 */

/** Estimated training footprint in MB: weights, gradients and activations (~4 copies of the parameters) plus data. */
export function trainingFootprintMB (params: number, dataBytes: number): number {
  return (params * 4 * 4 + dataBytes) / 2 ** 20
}

/**
 * Rows a node trains on per round: its measured samples/s over half the round's time cap, scaled by the profile's
 * duty cycle and divided over the local epochs; at least one batch. Undefined (no cap) before speed is measured.
 */
export function sampleBudget (o: { samplesPerSec?: number, capMs: number, dutyCycle: number, localEpochs: number, batchSize: number }): number | undefined {
  if (o.samplesPerSec == null || !(o.samplesPerSec > 0)) return undefined
  const seconds = o.capMs / 1000 / 2
  return Math.max(o.batchSize, Math.floor(o.samplesPerSec * seconds * o.dutyCycle / o.localEpochs))
}
