/**
 * Noise frames without a new exception per socket read. @libp2p/utils' LengthPrefixedDecoder (7.4.1), which splits a
 * connection's bytes into noise frames, asks its length decoder for the next frame's length until that throws a
 * RangeError, and noise's decoder (`uint16BEDecode`) throws a new one, stack trace and all, for the empty buffer left
 * after the last whole frame: once per chunk read, on every connection. In a 20-node mesh running proposals that was 3%
 * of a node's CPU (the stack walk, in a V8 profile). Here a decoder's length decoder answers an empty buffer with one
 * RangeError made once: the decoder stops reading as before, without the stack walk. A partial length (one byte of
 * two) still reaches the real decoder and throws as before: rare, and a real decoder's answer.
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'

type Chunk = Parameters<LengthPrefixedDecoder['decode']>[0]
type Frames = ReturnType<LengthPrefixedDecoder['decode']>
type LengthDecoder = (data: Chunk) => number

const INSTALLED = Symbol.for('meshnode.noise.quietShortReads')
const QUIET = Symbol('meshnode.noise.quietLengthDecoder')
/** The decoder's members this reads (its length decoder is private in its types). */
interface DecoderState { lengthDecoder: LengthDecoder, [QUIET]?: true }
/** What the length decoder throws for an empty buffer: the decoder catches any RangeError and waits for more bytes. */
const EMPTY = new RangeError('no bytes for a frame length yet')

/** Install on the process's LengthPrefixedDecoder class (idempotent; process-wide, as the class is shared). */
export function quietShortReads (): void {
  const proto: { decode: (this: DecoderState, buf: Chunk) => Frames, [INSTALLED]?: boolean } = LengthPrefixedDecoder.prototype
  if (proto[INSTALLED] === true) return
  const decode = proto.decode
  proto.decode = function (this: DecoderState, buf: Chunk): Frames {
    if (this[QUIET] !== true) {
      const inner = this.lengthDecoder
      this.lengthDecoder = data => { if (data.byteLength === 0) throw EMPTY; return inner(data) }
      this[QUIET] = true
    }
    return decode.call(this, buf)
  }
  proto[INSTALLED] = true
}
