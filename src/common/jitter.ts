/**
 * Spreading periodic work: a delay moved at random within +-`jitter` of itself, so that nodes started together (a
 * benchmark's mesh, a round whose members all add their models at once) do not keep doing the same thing in the same
 * second ever after.
 */

/** `ms` moved to ms x (1 - jitter + 2 x jitter x draw): `draw` uniform in [0, 1) spans ms x [1 - jitter, 1 + jitter). */
export function spread (ms: number, jitter: number, draw: number): number {
  return ms * (1 + jitter * (2 * draw - 1))
}
