/**
 * Make the Prometheus exposition conform to Prometheus's naming rules (`promtool check metrics` reports nothing),
 * whatever libp2p and prom-client's default collectors register:
 * - times in milliseconds become seconds (`_milliseconds` -> `_seconds`, values, bucket bounds and sums / 1000);
 * - a gauge (or histogram) named `_total` loses the suffix, or is dropped when that name already exists (prom-client's
 *   `nodejs_active_handles_total` is the sum of `nodejs_active_handles`);
 * - process metrics are exported once, prefixed `meshnode_process_` by our own collector: the unprefixed `nodejs_*`
 *   and `process_*` families libp2p's metrics add (memory, file system usage) are dropped;
 * - every help string says what the series means: libp2p's (which mostly repeat the name) are replaced from HELP
 *   below, and a libp2p family whose help only repeats its name and that HELP does not describe is dropped rather
 *   than exported meaningless.
 */

/** Help for libp2p's, kad-dht's and Helia's metrics, by their name as registered. */
export const HELP: Readonly<Record<string, string>> = {
  libp2p_data_transfer_bytes_total: 'Bytes sent and received by libp2p, by protocol and direction',
  libp2p_peer_store_locks: 'Peer store read and write locks held or waiting',
  libp2p_noise_xxhandshake_successes_total: 'Noise XX handshakes completed',
  libp2p_noise_xxhandshake_error_total: 'Noise XX handshakes that failed',
  libp2p_noise_encrypted_packets_total: 'Packets encrypted by noise',
  libp2p_noise_decrypted_packets_total: 'Packets decrypted by noise',
  libp2p_noise_decrypt_errors_total: 'Packets noise could not decrypt',
  libp2p_upgrader_connection_encrypters: 'Connection encrypters configured (1 per protocol)',
  libp2p_upgrader_stream_multiplexers: 'Stream multiplexers configured (1 per protocol)',
  libp2p_connection_manager_dials_total: 'Dials attempted by the connection manager, by direction',
  libp2p_connection_manager_dial_errors_total: 'Dials that failed, by error name',
  libp2p_connection_manager_dials_inbound_errors_total: 'Inbound connections that failed to upgrade, by error name',
  libp2p_connection_manager_dials_outbound_errors_total: 'Outbound dials that failed, by error name',
  libp2p_transport_manager_transports: 'Transports configured (1 per transport)',
  libp2p_transport_manager_listeners: 'Listeners open, by transport',
  libp2p_dial_queue: 'Dials queued and running in the dial queue',
  libp2p_connection_monitor_ping_time_milliseconds: 'Round-trip time of the connection monitor\'s pings to connected peers',
  libp2p_registrar_topologies: 'Topologies registered, by protocol',
  libp2p_registrar_protocol_handlers: 'Protocol handlers registered, by protocol',
  libp2p_address_manager_observed_addresses: 'Addresses other peers observed us on',
  libp2p_address_manager_dns_mappings: 'DNS address mappings held by the address manager',
  libp2p_address_manager_ip_mappings: 'IP address mappings (e.g. NAT) held by the address manager',
  libp2p_address_manager_transport_addresses: 'Transport addresses we listen on',
  libp2p_tcp_dialer_events_total: 'TCP dialer events, by type',
  libp2p_tcp_dialer_errors_total: 'TCP dialer errors, by type',
  libp2p_tcp_inbound_connections_total: 'Inbound TCP connections currently open on the listener',
  libp2p_tcp_listener_status_info: 'TCP listener state (1 listening, 0 not)',
  libp2p_tcp_listener_errors_total: 'TCP listener errors, by type',
  libp2p_tcp_listener_events_total: 'TCP listener events, by type',
  libp2p_connection_manager_connections: 'Open connections, by direction',
  libp2p_protocol_streams_total: 'Open streams, by protocol and direction',
  libp2p_connection_manager_protocol_streams_per_connection_90th_percentile: '90th percentile of open streams per connection, by protocol and direction',
  libp2p_kad_dht_operations_total: 'DHT operations started, by operation',
  libp2p_kad_dht_operation_errors_total: 'DHT operations that failed, by operation',
  libp2p_kad_dht_operation_time_seconds: 'Duration of successful DHT operations',
  libp2p_kad_dht_operation_error_time_seconds: 'Duration of failed DHT operations',
  libp2p_kad_dht_network_message_send_times_milliseconds: 'Time to send a DHT message to a peer, by message type',
  libp2p_kad_dht_outbound_rpc_requests_total: 'DHT requests sent, by message type',
  libp2p_kad_dht_outbound_rpc_errors_total: 'DHT requests sent that failed, by message type',
  libp2p_kad_dht_inbound_rpc_requests_total: 'DHT requests received, by message type',
  libp2p_kad_dht_inbound_rpc_errors_total: 'DHT requests received that failed, by message type',
  libp2p_kad_dht_inbound_rpc_time_seconds: 'Time to answer a DHT request, by message type',
  libp2p_kad_dht_routing_table_update_queue: 'Routing table updates queued and running',
  libp2p_kad_dht_ping_old_contact_queue: 'Pings of old routing-table contacts queued and running',
  libp2p_kad_dht_routing_table_ping_old_contact_time_milliseconds: 'Time to ping an old routing-table contact',
  libp2p_kad_dht_ping_new_contact_queue: 'Pings of new routing-table contacts queued and running',
  libp2p_kad_dht_routing_table_ping_new_contact_time_milliseconds: 'Time to ping a new routing-table contact',
  libp2p_kad_dht_adding_peer_map: 'Peers being added to the routing table',
  libp2p_kad_dht_routing_table_size: 'Peers in the DHT routing table',
  libp2p_kad_dht_routing_table_kad_bucket_total: 'K-buckets in the DHT routing table',
  libp2p_kad_dht_routing_table_kad_bucket_average_occupancy: 'Average peers per k-bucket',
  libp2p_kad_dht_routing_table_kad_bucket_min_occupancy: 'Fewest peers in a k-bucket',
  libp2p_kad_dht_routing_table_kad_bucket_max_occupancy: 'Most peers in a k-bucket',
  libp2p_kad_dht_routing_table_kad_bucket_max_depth: 'Depth of the deepest k-bucket',
  libp2p_kad_dht_kad_bucket_events_total: 'K-bucket events (peers added, removed, buckets split), by type',
  libp2p_kad_dht_reprovide_queue: 'Provider records queued for republishing',
  libp2p_kad_dht_reprovide_timeout_milliseconds: 'Time until the next provider republish',
  libp2p_kad_dht_provide_queue: 'Provider records queued for publishing',
  helia_bitswap_sent_blocks_total: 'Blocks sent to peers by bitswap',
  helia_bitswap_sent_data_bytes_total: 'Block bytes sent to peers by bitswap',
  helia_bitswap_data_received_bytes: 'Block bytes received from peers by bitswap',
  helia_bitswap_duplicate_data_received_bytes: 'Duplicate block bytes received by bitswap',
  helia_bitswap_duplicate_received_blocks: 'Duplicate blocks received by bitswap',
  helia_bitswap_received_blocks: 'Blocks received by bitswap'
}

/** Renames where dropping `_total` would leave a reserved suffix (`_bucket`, `_count`, `_sum`). */
const RENAME: Readonly<Record<string, string>> = {
  libp2p_kad_dht_routing_table_kad_bucket_total: 'libp2p_kad_dht_routing_table_kad_buckets'
}

interface Family { name: string, help: string, type: string, samples: string[] }

function parse (text: string): Family[] {
  const families: Family[] = []
  let cur: Family | undefined
  for (const line of text.split('\n')) {
    if (line === '') continue
    const help = /^# HELP (\S+) ?(.*)$/.exec(line)
    if (help != null) { cur = { name: help[1], help: help[2], type: 'untyped', samples: [] }; families.push(cur); continue }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type != null) {
      if (cur?.name !== type[1]) { cur = { name: type[1], help: '', type: type[2], samples: [] }; families.push(cur) } else cur.type = type[2]
      continue
    }
    if (line.startsWith('#')) continue
    cur?.samples.push(line)
  }
  return families
}

const words = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim()

/** True when a help string says nothing beyond the metric's name. */
export function helpRepeatsName (name: string, help: string): boolean {
  const h = words(help)
  return h === '' || h === words(name) || words(name).endsWith(h)
}

function scaleSample (sample: string, from: string, to: string): string {
  const m = /^(\S+?)(\{.*\})? (\S+)(.*)$/.exec(sample)
  if (m == null) return sample
  const [, name, labels = '', value, rest] = m
  // bucket and sample counts are counts; sums, quantiles and gauge values are times
  const divide = !name.endsWith('_count') && !name.endsWith('_bucket')
  const l = labels.replace(/le="([^"]+)"/, (all, le: string) => le === '+Inf' ? all : `le="${Number(le) / 1000}"`)
  const v = divide && value !== 'NaN' ? String(Number(value) / 1000) : value
  return `${to}${name.slice(from.length)}${l} ${v}${rest}`
}

function renameSample (sample: string, from: string, to: string): string {
  return sample.startsWith(from) ? to + sample.slice(from.length) : sample
}

/** Rewrite an exposition so that it follows Prometheus's conventions (see the module comment). */
export function conformExposition (text: string): string {
  const families = parse(text)
  const names = new Set(families.map(f => f.name))
  const out: string[] = []
  for (const f of families) {
    let { name, help } = f
    if (/^(nodejs|process)_/.test(name)) continue
    const foreign = name.startsWith('libp2p_') || name.startsWith('helia_')
    // libp2p writes some help strings with underscores for spaces
    if (foreign) help = HELP[name] ?? help.replace(/_/g, ' ')
    if (foreign && HELP[name] == null && helpRepeatsName(name, help)) continue
    let samples = f.samples
    if (name.includes('_milliseconds')) {
      const to = name.replace('_milliseconds', '_seconds')
      samples = samples.map(s => scaleSample(s, f.name, to))
      name = to
    }
    if (f.type !== 'counter' && name.endsWith('_total')) {
      const to = RENAME[name] ?? name.slice(0, -'_total'.length)
      if (names.has(to)) continue
      samples = samples.map(s => renameSample(s, name, to))
      name = to
    }
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${f.type}`, ...samples)
  }
  return out.join('\n') + '\n'
}
