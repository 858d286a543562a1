/**
 * The small runtime behind the generated contract bindings: attach and deploy with ethers v6, and read a receipt's
 * events and a revert's custom error by name, typed by the contract's generated event and error maps.
 */
import { BaseContract, Contract, ContractFactory } from 'ethers'
import type { ContractRunner, InterfaceAbi, Log, Overrides } from 'ethers'

/** A compiled contract as written by `contracts/build.ts`. */
export interface Artifact {
  contractName: string
  abi: InterfaceAbi
  bytecode: string
  deployedBytecode: string
}

declare const contractTypes: unique symbol

/**
 * A contract whose events (`E`: event name -> decoded arguments) and custom errors (`R`: their names) are known to
 * the type system. The brand exists only in types: it lets `eventsOf` and `errorOf` infer both maps from the contract.
 */
export interface TypedContract<E = Record<string, Record<string, unknown>>, R extends string = string>
  extends BaseContract {
  readonly [contractTypes]?: { events: E, errors: R }
}

/** The parts of a log that decoding reads (an ethers `Log` is one). */
export type LogLike = Pick<Log, 'address' | 'topics' | 'data'>

/** A decoded custom error: its name and arguments (by position and by name). */
export interface DecodedError<R extends string = string> {
  name: R
  args: Record<string, unknown> & unknown[]
}

/**
 * An ethers contract for `artifact` at `address`, typed as `T` (a generated `...Contract` interface).
 * The one place where the untyped ethers `Contract` becomes a typed one.
 */
export function attachContract<T extends BaseContract> (artifact: Artifact, address: string, runner?: ContractRunner | null): T {
  const contract: BaseContract = new Contract(address, artifact.abi, runner)
  return contract as T
}

/** Deploys `artifact` with constructor `args`, waits for it to be mined and returns it typed as `T`. */
export async function deployContract<T extends BaseContract> (
  artifact: Artifact,
  runner: ContractRunner,
  args: readonly unknown[],
  overrides: Overrides = {}
): Promise<T> {
  const factory = new ContractFactory(artifact.abi, artifact.bytecode, runner)
  const deployed = await factory.deploy(...args, overrides)
  await deployed.waitForDeployment()
  return attachContract<T>(artifact, await deployed.getAddress(), runner)
}

/**
 * The creation transaction data (bytecode and encoded constructor arguments) of `artifact`: what a deterministic
 * (CREATE2) deployer needs.
 */
export async function deployData (artifact: Artifact, args: readonly unknown[]): Promise<string> {
  const factory = new ContractFactory(artifact.abi, artifact.bytecode)
  const tx = await factory.getDeployTransaction(...args)
  return tx.data
}

/** Every `name` event that `contract` emitted in `receipt` (an ethers receipt, or anything with its logs), decoded, in log order. */
export function eventsOf<E, R extends string, K extends keyof E & string> (
  contract: TypedContract<E, R>,
  receipt: { logs: readonly LogLike[] } | null,
  name: K
): Array<E[K]> {
  if (receipt === null) return []
  const event = contract.interface.getEvent(name)
  if (event === null) throw new Error(`no event ${name} in the ABI`)
  const address = String(contract.target).toLowerCase()
  const out: Array<E[K]> = []
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address || log.topics[0] !== event.topicHash) continue
    const parsed = contract.interface.parseLog({ topics: [...log.topics], data: log.data })
    // the generated event map states what this ABI's event decodes to
    const decoded: unknown = parsed?.args.toObject(true)
    if (decoded !== undefined) out.push(decoded as E[K])
  }
  return out
}

/**
 * The custom error of `contract` that `err` (an ethers call exception, or raw revert data) carries, or undefined when
 * it carries none of that contract's errors.
 */
export function errorOf<E, R extends string> (contract: TypedContract<E, R>, err: unknown): DecodedError<R> | undefined {
  const data = revertData(err)
  if (data === undefined) return undefined
  const parsed = contract.interface.parseError(data)
  if (parsed === null) return undefined
  const args: unknown[] = [...parsed.args]
  const named: Record<string, unknown> = parsed.args.toObject(true)
  return { name: parsed.name as R, args: Object.assign(args, named) }
}

/** The revert data inside an ethers error (or the string itself, when given revert data). */
export function revertData (err: unknown): string | undefined {
  if (typeof err === 'string') return err.startsWith('0x') ? err : undefined
  if (typeof err !== 'object' || err === null) return undefined
  const data: unknown = Reflect.get(err, 'data')
  if (typeof data === 'string' && data.startsWith('0x') && data.length >= 10) return data
  for (const key of ['error', 'info', 'cause']) {
    const inner: unknown = Reflect.get(err, key)
    if (inner !== undefined && inner !== err) {
      const found = revertData(inner)
      if (found !== undefined) return found
    }
  }
  return undefined
}
