/**
 * The naming rules of the wire: gossip topics are `meshnode/<name>/<major>`, stream protocols
 * `/meshnode/<name>/<semver>`. Each subsystem declares its own topic, signing domain and protocol ids in its
 * `protocol/` folder with these helpers; only what belongs to no subsystem (the DHT) is declared here.
 */

/** A gossip topic name: `meshnode/<name>/<major>` (the literal type is kept, so a typo is a compile error). */
export function topicName<N extends string, M extends number> (name: N, major: M): `meshnode/${N}/${M}` {
  return `meshnode/${name}/${major}`
}

/** A stream protocol id: `/meshnode/<name>/<semver>`. */
export function protocolId<N extends string, V extends `${number}.${number}.${number}`> (name: N, version: V): `/meshnode/${N}/${V}` {
  return `/meshnode/${name}/${version}`
}

/** The private kad-dht's protocol id (a private DHT: it never mixes with the public IPFS one). */
export const KAD_PROTOCOL = protocolId('kad', '1.0.0')
