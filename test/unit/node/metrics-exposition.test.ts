import { describe, it, expect } from 'vitest'
import { conformExposition, helpRepeatsName } from '../../../src/node/metrics-exposition.js'

const family = (name: string, help: string, type: string, ...samples: string[]): string =>
  [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples].join('\n')

describe('conformExposition', () => {
  it.each([
    ['milliseconds become seconds (names, bucket bounds, sums; counts kept)',
      family('libp2p_connection_monitor_ping_time_milliseconds', 'x', 'histogram',
        'libp2p_connection_monitor_ping_time_milliseconds_bucket{le="500"} 2', 'libp2p_connection_monitor_ping_time_milliseconds_bucket{le="+Inf"} 3',
        'libp2p_connection_monitor_ping_time_milliseconds_sum 1500', 'libp2p_connection_monitor_ping_time_milliseconds_count 3'),
      family('libp2p_connection_monitor_ping_time_seconds', 'Round-trip time of the connection monitor\'s pings to connected peers', 'histogram',
        'libp2p_connection_monitor_ping_time_seconds_bucket{le="0.5"} 2', 'libp2p_connection_monitor_ping_time_seconds_bucket{le="+Inf"} 3',
        'libp2p_connection_monitor_ping_time_seconds_sum 1.5', 'libp2p_connection_monitor_ping_time_seconds_count 3')],
    ['a gauge named _total loses the suffix',
      family('libp2p_protocol_streams_total', 'libp2p_protocol_streams_total', 'gauge', 'libp2p_protocol_streams_total{protocol="a"} 2'),
      family('libp2p_protocol_streams', 'Open streams, by protocol and direction', 'gauge', 'libp2p_protocol_streams{protocol="a"} 2')],
    ['a gauge named _total whose base name exists is dropped',
      family('meshnode_process_nodejs_active_handles', 'Number of handles', 'gauge', 'meshnode_process_nodejs_active_handles 1') + '\n' +
      family('meshnode_process_nodejs_active_handles_total', 'Total number of handles', 'gauge', 'meshnode_process_nodejs_active_handles_total 1'),
      family('meshnode_process_nodejs_active_handles', 'Number of handles', 'gauge', 'meshnode_process_nodejs_active_handles 1')],
    ['no reserved suffix is left behind',
      family('libp2p_kad_dht_routing_table_kad_bucket_total', 'x', 'gauge', 'libp2p_kad_dht_routing_table_kad_bucket_total 4'),
      family('libp2p_kad_dht_routing_table_kad_buckets', 'K-buckets in the DHT routing table', 'gauge', 'libp2p_kad_dht_routing_table_kad_buckets 4')],
    ['unprefixed process metrics go (ours are meshnode_process_*)',
      family('nodejs_memory_usage_bytes', 'nodejs_memory_usage_bytes', 'gauge', 'nodejs_memory_usage_bytes{memory="rss"} 1'), ''],
    ['an unknown libp2p family that only repeats its name goes',
      family('libp2p_something_new', 'libp2p_something_new', 'gauge', 'libp2p_something_new 1'), ''],
    ['an unknown libp2p family with a real help stays, underscores read as spaces',
      family('libp2p_other', 'Total_count_of_things', 'counter', 'libp2p_other 1'),
      family('libp2p_other', 'Total count of things', 'counter', 'libp2p_other 1')],
    ['our own families pass unchanged',
      family('meshnode_api_requests_total', 'Admin API requests by route and status class', 'counter', 'meshnode_api_requests_total{route="a",status="2xx"} 5'),
      family('meshnode_api_requests_total', 'Admin API requests by route and status class', 'counter', 'meshnode_api_requests_total{route="a",status="2xx"} 5')]
  ])('%s', (_what, input, want) => {
    expect(conformExposition(input + '\n').trim()).toBe(want)
  })

  it.each([
    ['libp2p_dial_queue', 'libp2p_dial_queue', true], ['x_total', 'Total', true], ['libp2p_peer_store_locks', 'peer store locks', true],
    ['meshnode_node_peers', 'Peers with an open libp2p connection to this node', false]
  ])('helpRepeatsName(%s, %j) = %s', (name, help, want) => {
    expect(helpRepeatsName(name, help)).toBe(want)
  })
})
