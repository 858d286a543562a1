// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {recoverCompact} from "./CompactSignature.sol";

/// @title CreditVault: FTNS escrow paid out by cumulative vouchers
/// @notice Accounts deposit FTNS into a free balance. A payer locks part of it for one provider until an expiry; the
/// payer then signs cumulative EIP-712 vouchers `Voucher(bytes32 lockId,uint256 cumulativeAmount)` as work is done,
/// and the provider redeems the newest one (alone, or many locks at once), which credits the provider's free balance
/// inside the vault. After the expiry the part of the lock that no redeemed voucher covers returns to the payer's free
/// balance. Tokens leave the vault only through a two-step withdrawal with a delay.
/// @dev A lock is {payer, provider, amount, expiry}. Its id is `keccak256(abi.encode(payer, provider, salt))`: payer
/// and provider are bound by the id and come back in calldata (the provider is always `msg.sender` when redeeming), so
/// the stored part is ONE slot {amount, redeemed, expiry, closed} and a redeemed voucher costs one cold read and one
/// write. Ids are chosen by the opener (the salt), so a client knows a lock's id before it sends the transaction and
/// can make lock creation exactly-once by checking the id on chain.
///
/// Authorised lockers (the ComputeMarket): a payer grants a locker an allowance (`approveLocker`), spent by
/// `lockFor`. A locker can only move a payer's free balance into a lock; a lock pays a provider only against vouchers
/// the payer signs, so even a faulty locker can at worst keep the allowance frozen until the lock's expiry, which is
/// bounded by `maxLockDuration`. There is no admin.
contract CreditVault is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The stored part of a lock (one storage slot).
    /// @param amount The amount locked, in token wei.
    /// @param redeemed The cumulative amount already paid to the provider by vouchers.
    /// @param expiry The last second (unix time) at which vouchers can be redeemed; released after it.
    /// @param closed Whether the unredeemed rest went back to the payer (no voucher can be redeemed any more).
    struct Lock {
        uint96 amount;
        uint96 redeemed;
        uint40 expiry;
        bool closed;
    }

    /// @notice A pending withdrawal.
    /// @param amount The amount that leaves the vault when completed.
    /// @param readyAt The first second at which `completeWithdrawal` succeeds.
    struct Withdrawal {
        uint128 amount;
        uint64 readyAt;
    }

    /// @notice One voucher to redeem in `redeemMany`; the provider is `msg.sender`.
    /// @param payer The payer of the lock (the voucher's signer).
    /// @param salt The lock's salt.
    /// @param cumulativeAmount The total the payer owes on this lock so far.
    /// @param r The signature's `r`.
    /// @param vs The signature's `s` with the parity bit on top (EIP-2098 compact form).
    struct Claim {
        address payer;
        uint96 salt;
        uint256 cumulativeAmount;
        bytes32 r;
        bytes32 vs;
    }

    /// @notice The EIP-712 type hash of a voucher.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256("Voucher(bytes32 lockId,uint256 cumulativeAmount)");

    /// @notice The token held (FTNS).
    IERC20 public immutable token;
    /// @notice Seconds between `requestWithdrawal` and the first moment `completeWithdrawal` succeeds.
    uint256 public immutable withdrawalDelay;
    /// @notice The longest a lock may run, counted from its opening.
    uint256 public immutable maxLockDuration;

    /// @notice Free (spendable, lockable, withdrawable) balance of each account.
    mapping(address account => uint256) public freeBalanceOf;
    /// @notice The pending withdrawal of each account.
    mapping(address account => Withdrawal) public withdrawalOf;
    /// @notice What `locker` may still lock out of `payer`'s free balance through `lockFor`.
    mapping(address payer => mapping(address locker => uint256)) public lockAllowance;
    mapping(bytes32 lockId => Lock) private _locks;

    /// @notice Tokens entered the vault for `account`, paid by `from`.
    event Deposited(address indexed account, address indexed from, uint256 amount);
    /// @notice `account` asked to withdraw `amount` more; `pending` is now due at `readyAt`.
    event WithdrawalRequested(address indexed account, uint256 amount, uint256 pending, uint256 readyAt);
    /// @notice `account` cancelled its pending withdrawal; `amount` is free again.
    event WithdrawalCancelled(address indexed account, uint256 amount);
    /// @notice `amount` left the vault to `account`.
    event Withdrawn(address indexed account, uint256 amount);
    /// @notice `payer` set what `locker` may lock on its behalf (also emitted when `lockFor` spends a finite allowance).
    event LockerApproval(address indexed payer, address indexed locker, uint256 amount);
    /// @notice A lock was opened by `opener` (the payer, or an approved locker).
    event LockOpened(
        bytes32 indexed lockId,
        address indexed payer,
        address indexed provider,
        uint256 amount,
        uint256 expiry,
        uint96 salt,
        address opener
    );
    /// @notice A voucher was redeemed: the lock has now paid `cumulativeAmount` in total, `paid` of it just now, into
    /// `provider`'s free balance.
    event Redeemed(bytes32 indexed lockId, address indexed provider, uint256 cumulativeAmount, uint256 paid);
    /// @notice A lock closed: `refund` (what no voucher covered) went back to the payer's free balance.
    event LockReleased(bytes32 indexed lockId, address indexed payer, uint256 refund, address by);

    /// @notice An amount of zero, or above what a lock can hold (2^96 - 1).
    error InvalidAmount();
    /// @notice The free balance is below `needed`.
    error InsufficientFreeBalance(uint256 available, uint256 needed);
    /// @notice The token delivered `received` instead of `expected` (fee-on-transfer or rebasing tokens are refused).
    error TransferAmountMismatch(uint256 expected, uint256 received);
    /// @notice The zero address where an account is needed.
    error ZeroAddress();
    /// @notice No withdrawal is pending.
    error NoPendingWithdrawal();
    /// @notice The withdrawal delay has not passed yet.
    error WithdrawalNotReady(uint256 readyAt);
    /// @notice The locker's allowance is below `needed`.
    error InsufficientLockAllowance(uint256 available, uint256 needed);
    /// @notice The expiry is in the past or further than `maxLockDuration` away.
    error InvalidExpiry(uint256 expiry);
    /// @notice A lock with this id exists already.
    error LockExists(bytes32 lockId);
    /// @notice No lock with this id.
    error UnknownLock(bytes32 lockId);
    /// @notice The lock expired: it can no longer pay vouchers.
    error LockExpired(bytes32 lockId);
    /// @notice The lock is closed.
    error LockClosed(bytes32 lockId);
    /// @notice Only the provider may close a lock before its expiry.
    error LockNotExpired(bytes32 lockId);
    /// @notice The voucher is not signed by the lock's payer (wrong signer, chain, vault or lock).
    error InvalidVoucherSignature(bytes32 lockId);
    /// @notice The voucher adds nothing to what the lock has already paid.
    error VoucherAlreadyRedeemed(bytes32 lockId, uint256 redeemed);

    /// @param token_ The token to hold. Must be a plain ERC-20 (deposits of any other kind revert).
    /// @param withdrawalDelay_ Seconds a withdrawal waits.
    /// @param maxLockDuration_ The longest lock, in seconds.
    constructor(IERC20 token_, uint256 withdrawalDelay_, uint256 maxLockDuration_) EIP712("CreditVault", "1") {
        if (address(token_) == address(0)) revert ZeroAddress();
        if (maxLockDuration_ == 0 || maxLockDuration_ > type(uint32).max) revert InvalidExpiry(maxLockDuration_);
        if (withdrawalDelay_ > type(uint32).max) revert InvalidExpiry(withdrawalDelay_);
        token = token_;
        withdrawalDelay = withdrawalDelay_;
        maxLockDuration = maxLockDuration_;
    }

    // ---------------------------------------------------------------- deposits and withdrawals

    /// @notice Moves `amount` tokens from the caller into the caller's free balance (needs an ERC-20 allowance).
    /// @param amount The amount in wei.
    function deposit(uint256 amount) external nonReentrant {
        _deposit(msg.sender, msg.sender, amount);
    }

    /// @notice Moves `amount` tokens from the caller into `account`'s free balance.
    /// @param account The account credited.
    /// @param amount The amount in wei.
    function depositFor(address account, uint256 amount) external nonReentrant {
        if (account == address(0)) revert ZeroAddress();
        _deposit(account, msg.sender, amount);
    }

    /// @notice Deposits with an EIP-2612 permit instead of a prior `approve`, in one transaction.
    /// @dev A failing permit is ignored (someone may have front-run it); the transfer then needs the allowance anyway.
    /// @param amount The amount in wei (also the permit's value).
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's `v`.
    /// @param r The permit signature's `r`.
    /// @param s The permit signature's `s`.
    function depositWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        try IERC20Permit(address(token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _deposit(msg.sender, msg.sender, amount);
    }

    /// @notice Starts withdrawing `amount` from the free balance: it stops being free now and can be taken out with
    /// `completeWithdrawal` after `withdrawalDelay`. A second request adds to the first and restarts the delay.
    /// @param amount The amount in wei.
    function requestWithdrawal(uint256 amount) external nonReentrant {
        if (amount == 0 || amount > type(uint128).max) revert InvalidAmount();
        uint256 free = freeBalanceOf[msg.sender];
        if (free < amount) revert InsufficientFreeBalance(free, amount);
        unchecked {
            freeBalanceOf[msg.sender] = free - amount;
        }
        Withdrawal storage w = withdrawalOf[msg.sender];
        uint256 pending = uint256(w.amount) + amount;
        if (pending > type(uint128).max) revert InvalidAmount();
        uint256 readyAt = block.timestamp + withdrawalDelay;
        w.amount = uint128(pending);
        w.readyAt = uint64(readyAt);
        emit WithdrawalRequested(msg.sender, amount, pending, readyAt);
    }

    /// @notice Cancels the pending withdrawal; its amount becomes free again.
    function cancelWithdrawal() external nonReentrant {
        uint256 amount = withdrawalOf[msg.sender].amount;
        if (amount == 0) revert NoPendingWithdrawal();
        delete withdrawalOf[msg.sender];
        freeBalanceOf[msg.sender] += amount;
        emit WithdrawalCancelled(msg.sender, amount);
    }

    /// @notice Sends the pending withdrawal to the caller once its delay has passed.
    function completeWithdrawal() external nonReentrant {
        Withdrawal memory w = withdrawalOf[msg.sender];
        if (w.amount == 0) revert NoPendingWithdrawal();
        if (block.timestamp < w.readyAt) revert WithdrawalNotReady(w.readyAt);
        delete withdrawalOf[msg.sender];
        emit Withdrawn(msg.sender, w.amount);
        token.safeTransfer(msg.sender, w.amount);
    }

    // ---------------------------------------------------------------- locks

    /// @notice Lets `locker` (e.g. the ComputeMarket) open locks paid from the caller's free balance, up to `amount`
    /// in total (`type(uint256).max`: no limit). Such a lock still pays a provider only against the caller's vouchers.
    /// @param locker The contract or account allowed to call `lockFor` for the caller.
    /// @param amount The allowance in wei.
    function approveLocker(address locker, uint256 amount) external {
        if (locker == address(0)) revert ZeroAddress();
        lockAllowance[msg.sender][locker] = amount;
        emit LockerApproval(msg.sender, locker, amount);
    }

    /// @notice Locks `amount` of the caller's free balance for `provider` until `expiry`.
    /// @param provider The account that may redeem the caller's vouchers against this lock.
    /// @param amount The amount in wei (at most 2^96 - 1).
    /// @param expiry The last second at which vouchers can be redeemed (at most `maxLockDuration` from now).
    /// @param salt Makes the id unique; pick a fresh one per lock.
    /// @return lockId `keccak256(abi.encode(msg.sender, provider, salt))`.
    function lock(address provider, uint256 amount, uint256 expiry, uint96 salt)
        external
        nonReentrant
        returns (bytes32 lockId)
    {
        return _openLock(msg.sender, provider, amount, expiry, salt);
    }

    /// @notice Opens a lock paid from `payer`'s free balance, spending the allowance `payer` gave the caller.
    /// @param payer The account whose free balance is locked.
    /// @param provider The account that may redeem `payer`'s vouchers against this lock.
    /// @param amount The amount in wei (at most 2^96 - 1).
    /// @param expiry The last second at which vouchers can be redeemed (at most `maxLockDuration` from now).
    /// @param salt Makes the id unique.
    /// @return lockId `keccak256(abi.encode(payer, provider, salt))`.
    function lockFor(address payer, address provider, uint256 amount, uint256 expiry, uint96 salt)
        external
        nonReentrant
        returns (bytes32 lockId)
    {
        uint256 allowed = lockAllowance[payer][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert InsufficientLockAllowance(allowed, amount);
            unchecked {
                lockAllowance[payer][msg.sender] = allowed - amount;
            }
            emit LockerApproval(payer, msg.sender, allowed - amount);
        }
        return _openLock(payer, provider, amount, expiry, salt);
    }

    /// @notice Redeems one voucher: credits the caller (the lock's provider) with what it adds to the lock's paid total.
    /// @dev A voucher for more than the lock pays the lock out in full, never more.
    /// @param payer The lock's payer, who signed the voucher.
    /// @param salt The lock's salt.
    /// @param cumulativeAmount The voucher's cumulative amount.
    /// @param r The signature's `r`.
    /// @param vs The signature's compact `vs` (EIP-2098).
    /// @return paid The amount credited now.
    function redeem(address payer, uint96 salt, uint256 cumulativeAmount, bytes32 r, bytes32 vs)
        external
        nonReentrant
        returns (uint256 paid)
    {
        paid = _redeem(payer, salt, cumulativeAmount, r, vs);
        freeBalanceOf[msg.sender] += paid;
    }

    /// @notice Redeems many vouchers (one per lock, or several: each must add to the last) for locks whose provider is
    /// the caller, crediting the sum once. Reverts as a whole if any voucher is invalid or adds nothing.
    /// @param claims The vouchers.
    /// @return paid The total credited.
    function redeemMany(Claim[] calldata claims) external nonReentrant returns (uint256 paid) {
        uint256 n = claims.length;
        for (uint256 i; i < n; ) {
            Claim calldata c = claims[i];
            paid += _redeem(c.payer, c.salt, c.cumulativeAmount, c.r, c.vs);
            unchecked {
                ++i;
            }
        }
        freeBalanceOf[msg.sender] += paid;
    }

    /// @notice Closes a lock: the part no redeemed voucher covers goes back to the payer's free balance. Anyone may
    /// call it after the expiry; the provider may also call it earlier, giving up further vouchers.
    /// @param payer The lock's payer.
    /// @param provider The lock's provider.
    /// @param salt The lock's salt.
    /// @return refund The amount returned to the payer.
    function release(address payer, address provider, uint96 salt) external nonReentrant returns (uint256 refund) {
        bytes32 lockId = lockIdOf(payer, provider, salt);
        Lock memory l = _locks[lockId];
        if (l.amount == 0) revert UnknownLock(lockId);
        if (l.closed) revert LockClosed(lockId);
        if (block.timestamp <= l.expiry && msg.sender != provider) revert LockNotExpired(lockId);
        _locks[lockId].closed = true;
        refund = l.amount - l.redeemed;
        freeBalanceOf[payer] += refund;
        emit LockReleased(lockId, payer, refund, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice The id of the lock of `payer` for `provider` with `salt`.
    /// @param payer The payer.
    /// @param provider The provider.
    /// @param salt The salt.
    /// @return The lock id.
    function lockIdOf(address payer, address provider, uint96 salt) public pure returns (bytes32) {
        bytes32 lockId;
        // keccak256(abi.encode(payer, provider, salt)), in memory past the free pointer (not allocated)
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, and(payer, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x20), and(provider, 0xffffffffffffffffffffffffffffffffffffffff))
            mstore(add(m, 0x40), and(salt, 0xffffffffffffffffffffffff))
            lockId := keccak256(m, 0x60)
        }
        return lockId;
    }

    /// @notice The stored part of a lock (all zero if it does not exist).
    /// @param lockId The lock id.
    /// @return The lock.
    function getLock(bytes32 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /// @notice The EIP-712 digest a payer signs for a voucher on this vault and chain.
    /// @param lockId The lock id.
    /// @param cumulativeAmount The cumulative amount.
    /// @return The digest.
    function voucherDigest(bytes32 lockId, uint256 cumulativeAmount) public view returns (bytes32) {
        bytes32 typeHash = VOUCHER_TYPEHASH;
        bytes32 structHash;
        // keccak256(abi.encode(VOUCHER_TYPEHASH, lockId, cumulativeAmount)) without allocating
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), lockId)
            mstore(add(m, 0x40), cumulativeAmount)
            structHash := keccak256(m, 0x60)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @notice The EIP-712 domain separator (binds the chain id and this vault's address).
    /// @return The domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _deposit(address account, address from, uint256 amount) private {
        if (amount == 0) revert InvalidAmount();
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert TransferAmountMismatch(amount, received);
        freeBalanceOf[account] += amount;
        emit Deposited(account, from, amount);
    }

    function _openLock(address payer, address provider, uint256 amount, uint256 expiry, uint96 salt)
        private
        returns (bytes32 lockId)
    {
        if (provider == address(0) || payer == address(0)) revert ZeroAddress();
        if (amount == 0 || amount > type(uint96).max) revert InvalidAmount();
        if (expiry <= block.timestamp || expiry > block.timestamp + maxLockDuration) revert InvalidExpiry(expiry);
        uint256 free = freeBalanceOf[payer];
        if (free < amount) revert InsufficientFreeBalance(free, amount);
        lockId = lockIdOf(payer, provider, salt);
        if (_locks[lockId].amount != 0) revert LockExists(lockId);
        unchecked {
            freeBalanceOf[payer] = free - amount;
        }
        _locks[lockId] = Lock({amount: uint96(amount), redeemed: 0, expiry: uint40(expiry), closed: false});
        emit LockOpened(lockId, payer, provider, amount, expiry, salt, msg.sender);
    }

    /// @dev Checks one voucher for a lock whose provider is `msg.sender`, records it, and returns what it pays.
    function _redeem(address payer, uint96 salt, uint256 cumulativeAmount, bytes32 r, bytes32 vs)
        private
        returns (uint256 paid)
    {
        bytes32 lockId = lockIdOf(payer, msg.sender, salt);
        Lock storage slot = _locks[lockId];
        Lock memory l = slot;
        if (l.amount == 0) revert UnknownLock(lockId);
        if (l.closed) revert LockClosed(lockId);
        if (block.timestamp > l.expiry) revert LockExpired(lockId);
        uint256 capped = cumulativeAmount < l.amount ? cumulativeAmount : l.amount;
        if (capped <= l.redeemed) revert VoucherAlreadyRedeemed(lockId, l.redeemed);
        address signer = recoverCompact(voucherDigest(lockId, cumulativeAmount), r, vs);
        if (signer == address(0) || signer != payer) revert InvalidVoucherSignature(lockId);
        unchecked {
            paid = capped - l.redeemed;
        }
        // write the one slot back whole (redeemed = capped, the rest as read) instead of a read-modify-write
        uint256 word = uint256(l.amount) | (capped << 96) | (uint256(l.expiry) << 192);
        assembly ("memory-safe") {
            sstore(slot.slot, word)
        }
        emit Redeemed(lockId, msg.sender, capped, paid);
    }
}
