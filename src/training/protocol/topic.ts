/**
 * The training protocol's wire names. They are part of the wire format: changing either string splits the mesh (a
 * topic nobody else listens to, signatures nobody else verifies).
 */

/** The gossip topic training messages travel on. */
export const TRAINING_TOPIC = 'meshnode/training/1'

/** The signing domain of training messages: a signature made for another record never verifies as one. */
export const TRAINING_DOMAIN = 'meshnode/training-message'
