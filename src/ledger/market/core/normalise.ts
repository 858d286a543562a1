/**
 * Prices normalised by measured speed: a unit is one minute of training whatever the hardware, so a fast node's
 * minute is worth more than a slow one's. Dividing the price per minute by the samples the provider measurably trains
 * per minute gives FTNS per million reference samples, comparable across nodes. Integer arithmetic on wei; the
 * measured speed (a float, samples per second) is taken in thousandths.
 */

/** A measured speed in thousandths of a sample per second (what the normalisation divides by). */
export function milliSamplesPerSecond (samplesPerSec: number): bigint {
  if (!Number.isFinite(samplesPerSec) || samplesPerSec <= 0) return 0n
  return BigInt(Math.round(samplesPerSec * 1000))
}

const MILLION_MILLI = 1_000_000n * 1000n

/**
 * FTNS wei per million reference samples for `pricePerUnit` wei per unit of `unitSeconds`, on a provider that trains
 * `samplesPerSec` reference samples per second; rounded to the nearest wei. Undefined when no speed was measured.
 */
export function pricePerMillionSamples (pricePerUnit: bigint, samplesPerSec: number, unitSeconds = 60n): bigint | undefined {
  const milli = milliSamplesPerSecond(samplesPerSec)
  if (milli === 0n || unitSeconds <= 0n) return undefined
  const den = milli * unitSeconds
  return (pricePerUnit * MILLION_MILLI + den / 2n) / den
}

/** The price per unit that corresponds to `perMillion` wei per million samples on a node of `samplesPerSec`; rounded. */
export function pricePerUnitFor (perMillion: bigint, samplesPerSec: number, unitSeconds = 60n): bigint | undefined {
  const milli = milliSamplesPerSecond(samplesPerSec)
  if (milli === 0n || unitSeconds <= 0n) return undefined
  return (perMillion * milli * unitSeconds + MILLION_MILLI / 2n) / MILLION_MILLI
}
