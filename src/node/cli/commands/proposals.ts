/** `meshnode proposals ls | show | create | vote | veto | watch`: the consensus proposals of the local daemon. */
import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { ProposalView } from '../../../consensus/index.js'
import { ClientError, type ApiClient } from '../client.js'
import { keyValues, output, table } from '../format.js'
import { sseEvents } from '../train-sse.js'
import type { Connect } from './info.js'

interface Flags { dataDir?: string, json?: boolean }

const short = (id: string): string => id.length > 20 ? `${id.slice(0, 12)}…${id.slice(-6)}` : id
const common = (cmd: Command): Command => cmd.option('--data-dir <dir>', 'data directory of the daemon to talk to').option('--json', 'machine-readable output')

/** A proposal id or a unique suffix/prefix of one (as `proposals ls` prints them). */
async function resolveId (api: ApiClient, idOrPart: string): Promise<string> {
  if (/^b[a-z2-7]{50,}$/.test(idOrPart)) return idOrPart
  const { proposals } = await api.request<{ proposals: ProposalView[] }>('GET', '/v1/proposals')
  const hits = proposals.filter(p => p.id.startsWith(idOrPart) || p.id.endsWith(idOrPart))
  if (hits.length !== 1) throw new ClientError('ERR_NOT_FOUND', hits.length === 0 ? `no proposal matches ${idOrPart}` : `${idOrPart} matches ${hits.length} proposals`)
  return hits[0].id
}

function describe (p: ProposalView): string {
  return keyValues([
    ['id', p.id], ['kind', p.kind], ['status', `${p.status}${p.executed ? ' (executed)' : ''}`], ['proposer', p.proposer],
    ['payload', JSON.stringify(p.payload)], ['created', p.createdAt], ['expires', p.expiresAt], ['snapshot', `epoch ${p.snapshot}`],
    ['tally', `yes ${p.tally.yes} / quorum ${p.tally.quorum} of ${p.tally.weightTotal} (no ${p.tally.no}, abstain ${p.tally.abstain})`],
    ['votes', p.votes.map(v => `${short(v.voter)} ${v.choice}`).join(', ') || 'none'],
    ['vetoes', p.vetoes.map(v => `${short(v.guardian)}: ${v.reason}`).join(', ') || 'none'],
    ['certificate', p.certificate == null ? 'none' : `${p.certificate.votes} votes, epoch ${p.certificate.epoch}`],
    ['decision', p.decision ?? 'none'],
    ['listed in', p.epoch == null ? 'no epoch yet' : `epoch ${p.epoch}`]
  ])
}

/** Parse `--payload` as JSON (or `@file`). */
async function payloadOf (text: string): Promise<unknown> {
  const raw = text.startsWith('@') ? await readFile(text.slice(1), 'utf8') : text
  try { return JSON.parse(raw) } catch { throw new ClientError('ERR_BAD_REQUEST', '--payload must be JSON (or @file holding JSON)') }
}

/** The `proposals` command group. */
export function registerProposalCommands (program: Command, connect: Connect): void {
  const group = program.command('proposals').description('consensus proposals: list, show, create, vote, veto (guardians), watch')

  common(group.command('ls').description('list proposals, newest first')
    .option('--kind <kind>', 'only this kind').option('--status <status>', 'pending | accepted | rejected | expired | vetoed'))
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Flags & { kind?: string, status?: string }>()
      const api = await connect(opts)
      const { proposals } = await api.request<{ proposals: ProposalView[] }>('GET', '/v1/proposals', { query: { kind: opts.kind, status: opts.status } })
      output(opts.json === true, proposals, () => proposals.length === 0
        ? 'no proposals'
        : table(['ID', 'KIND', 'STATUS', 'YES/QUORUM', 'VOTES', 'EXPIRES'],
          proposals.map(p => [short(p.id), p.kind, p.status + (p.executed ? '*' : ''), `${p.tally.yes}/${p.tally.quorum}`, p.votes.length, p.expiresAt.slice(11, 19)])))
    })

  common(group.command('show <id>').description('one proposal: status, tally, votes, certificate'))
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Flags>()
      const api = await connect(opts)
      const p = await api.request<ProposalView>('GET', `/v1/proposals/${await resolveId(api, id)}`)
      output(opts.json === true, p, () => describe(p))
    })

  common(group.command('create <kind>').description('create a proposal (this node votes yes with it), e.g. create network-param --payload \'{"name":"x","value":1}\'')
    .requiredOption('--payload <json>', 'the payload as JSON, or @file')
    .option('--ttl <seconds>', 'how long it stays open'))
    .action(async (kind: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Flags & { payload: string, ttl?: string }>()
      const api = await connect(opts)
      const body = { kind, payload: await payloadOf(opts.payload), ...(opts.ttl != null ? { ttlSeconds: Number(opts.ttl) } : {}) }
      const r = await api.request<{ id: string }>('POST', '/v1/proposals', { json: body })
      output(opts.json === true, r, () => r.id)
    })

  common(group.command('vote <id> <choice>').description('vote yes | no | abstain as this node\'s operator'))
    .action(async (id: string, choice: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Flags>()
      const api = await connect(opts)
      const p = await api.request<ProposalView>('POST', `/v1/proposals/${await resolveId(api, id)}/votes`, { json: { choice } })
      output(opts.json === true, p, () => `voted ${choice}: ${p.status}, yes ${p.tally.yes} / quorum ${p.tally.quorum}`)
    })

  common(group.command('veto <id>').description('veto a proposal within its window (guardian nodes only)').option('--reason <text>', 'why'))
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Flags & { reason?: string }>()
      const api = await connect(opts)
      const p = await api.request<ProposalView>('POST', `/v1/proposals/${await resolveId(api, id)}/veto`, { json: opts.reason != null ? { reason: opts.reason } : {} })
      output(opts.json === true, p, () => `vetoed: ${p.status}`)
    })

  common(group.command('watch').description('print proposal and epoch events as they happen (Ctrl-C stops); --json prints one JSON object per line'))
    .action(async (_o: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<Flags>()
      const api = await connect(opts)
      const ac = new AbortController()
      const onInt = (): void => { ac.abort() }
      process.once('SIGINT', onInt)
      try {
        // the daemon streams these types alone (one before `types` ignores the query: the filter below stays)
        const res = await api.fetch('GET', '/v1/events?types=proposal.*,epoch.finalized', { signal: ac.signal })
        if (res.body == null) throw new ClientError('ERR_STREAM_CLOSED', 'the daemon sent no event stream')
        for await (const ev of sseEvents(res.body)) {
          if (!ev.event.startsWith('proposal.') && ev.event !== 'epoch.finalized') continue
          const data = JSON.parse(ev.data) as Record<string, unknown>
          if (opts.json === true) process.stdout.write(JSON.stringify({ event: ev.event, ...data }) + '\n')
          else process.stdout.write(`${String(data.at ?? '').slice(11, 19)} ${ev.event} ${Object.entries(data).filter(([k]) => k !== 'at').map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`)
        }
      } catch (err) {
        if (!ac.signal.aborted) throw err
        process.exitCode = 130
      } finally {
        process.off('SIGINT', onInt)
      }
    })
}
