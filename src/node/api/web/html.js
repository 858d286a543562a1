// htm bound to Preact's h: templates without a build step.
import { h } from './vendor/preact.js'
import htm from './vendor/htm.js'

/** Tagged template that builds Preact elements. */
export const html = htm.bind(h)
