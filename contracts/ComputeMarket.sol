// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {CreditVault} from "./CreditVault.sol";
import {recoverCompact} from "./CompactSignature.sol";

/// @title ComputeMarket: on-chain settlement of signed compute and FTNS trade orders
/// @notice Makers sign EIP-712 orders off chain (gossiped between nodes); a taker fills them here in integer units,
/// partially or fully, one or several per transaction.
/// - A compute order sells (ask) or buys (bid) units of compute time (one unit = `unitSeconds` of training) of a
///   resource class. Filling one opens a CreditVault lock of `units * pricePerUnit` FTNS from the buyer to the
///   provider, expiring `units * unitSeconds + settlementGrace` after the fill; the buyer then pays by vouchers.
/// - A trade order sells (ask) or buys (bid) FTNS against a quote ERC-20, in lots of `unitSize` FTNS wei at `price`
///   quote wei per lot. Both transfers happen in the fill, or the fill reverts.
/// @dev The order hash is the EIP-712 digest (the domain binds the chain id and this contract), so an order signed for
/// another chain or market does not verify here. Filled units and cancellation are tracked per (maker, salt): a maker
/// gives each order its own salt, and orders of one maker that share a salt share their fills and cancellation (so a
/// maker cannot be filled past any one of them). Four consecutive salts (`salt / 4` equal) share one storage slot,
/// so makers that number their orders pay the ~17k gas of a fresh slot once per four orders. A maker cancels one order,
/// or every order of a nonce lane at once: orders carry the lane's nonce, and `cancelLane` bumps it. The market opens
/// locks through `CreditVault.lockFor`, so the buyer must have approved this market as a locker in the vault; that
/// allowance can only reserve the buyer's funds for a lock, which pays only the buyer's own vouchers.
contract ComputeMarket is EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice `side` of an order that sells (compute time, or FTNS).
    uint8 public constant ASK = 0;
    /// @notice `side` of an order that buys (compute time, or FTNS).
    uint8 public constant BID = 1;

    /// @notice A signed compute order.
    /// @param maker The signer: the provider for an ask, the buyer (payer) for a bid.
    /// @param side `ASK` or `BID`.
    /// @param resourceClass The hash of the hardware requirement (GPU model and memory, CPU cores, RAM, board).
    /// @param pricePerUnit FTNS wei per unit.
    /// @param maxUnits The order's size in units.
    /// @param minFill The smallest fill in units (a smaller rest can still be taken whole).
    /// @param windowStart The first second at which the order can be filled.
    /// @param windowEnd The fill's units must run out by this second.
    /// @param expiry The last second at which the order can be filled.
    /// @param salt Makes otherwise equal orders distinct.
    /// @param nonceLane The maker's nonce lane.
    /// @param laneNonce The lane's nonce when signed; `cancelLane` invalidates it.
    struct ComputeOrder {
        address maker;
        uint8 side;
        bytes32 resourceClass;
        uint256 pricePerUnit;
        uint256 maxUnits;
        uint256 minFill;
        uint64 windowStart;
        uint64 windowEnd;
        uint64 expiry;
        uint256 salt;
        uint64 nonceLane;
        uint64 laneNonce;
    }

    /// @notice A signed order to trade FTNS against a quote token.
    /// @param maker The signer.
    /// @param side `ASK` (the maker sells FTNS) or `BID` (the maker buys FTNS).
    /// @param quote The quote ERC-20.
    /// @param unitSize FTNS wei per unit (lot).
    /// @param price Quote wei per unit.
    /// @param amount The order's size in units.
    /// @param minFill The smallest fill in units (a smaller rest can still be taken whole).
    /// @param expiry The last second at which the order can be filled.
    /// @param salt Makes otherwise equal orders distinct.
    /// @param nonceLane The maker's nonce lane.
    /// @param laneNonce The lane's nonce when signed; `cancelLane` invalidates it.
    struct TradeOrder {
        address maker;
        uint8 side;
        address quote;
        uint256 unitSize;
        uint256 price;
        uint256 amount;
        uint256 minFill;
        uint64 expiry;
        uint256 salt;
        uint64 nonceLane;
        uint64 laneNonce;
    }

    /// @notice One compute fill of `fillMany`.
    struct ComputeFill {
        ComputeOrder order;
        bytes32 r;
        bytes32 vs;
        uint256 units;
    }

    /// @notice One trade fill of `fillMany`.
    struct TradeFill {
        TradeOrder order;
        bytes32 r;
        bytes32 vs;
        uint256 units;
    }

    /// @notice The EIP-712 type hash of a compute order.
    bytes32 public constant COMPUTE_ORDER_TYPEHASH = keccak256(
        "ComputeOrder(address maker,uint8 side,bytes32 resourceClass,uint256 pricePerUnit,uint256 maxUnits,"
        "uint256 minFill,uint64 windowStart,uint64 windowEnd,uint64 expiry,uint256 salt,uint64 nonceLane,"
        "uint64 laneNonce)"
    );
    /// @notice The EIP-712 type hash of a trade order.
    bytes32 public constant TRADE_ORDER_TYPEHASH = keccak256(
        "TradeOrder(address maker,uint8 side,address quote,uint256 unitSize,uint256 price,uint256 amount,"
        "uint256 minFill,uint64 expiry,uint256 salt,uint64 nonceLane,uint64 laneNonce)"
    );

    /// @dev One order's 64-bit field in a fill slot, and its filled-units part (the top bit is the cancellation).
    uint256 private constant FIELD_MASK = 0xffffffffffffffff;
    uint256 private constant FILLED_MASK = 0x7fffffffffffffff;

    /// @notice The FTNS token (the vault's token).
    IERC20 public immutable ftns;
    /// @notice The vault in which compute fills open locks.
    CreditVault public immutable vault;
    /// @notice Seconds of compute in one unit.
    uint256 public immutable unitSeconds;
    /// @notice Seconds a compute lock outlives its units, for the last vouchers to be redeemed.
    uint256 public immutable settlementGrace;

    /// @dev Fill records, four per slot: the order of `maker` with `salt` owns the 64-bit field `salt % 4` of
    /// `_fills[maker][salt / 4]`: bits 0-62 its filled units, bit 63 its cancellation. A new order whose neighbours'
    /// slot is already in use costs ~5k gas of storage instead of the ~22k of a fresh slot.
    mapping(address maker => mapping(uint256 group => uint256)) private _fills;
    /// @notice The current nonce of each maker's lane; orders signed with an older one are void.
    mapping(address maker => mapping(uint64 lane => uint64)) public laneNonceOf;

    /// @notice A compute order was filled by `taker` for `units`, opening lock `lockId` in the vault.
    event ComputeFilled(bytes32 indexed orderHash, address indexed taker, uint256 units, bytes32 lockId);
    /// @notice A trade order was filled by `taker` for `units`.
    event TradeFilled(bytes32 indexed orderHash, address indexed taker, uint256 units);
    /// @notice `maker` cancelled an order.
    event OrderCancelled(bytes32 indexed orderHash, address indexed maker);
    /// @notice `maker` cancelled every order of `lane` signed with a nonce below `newNonce`.
    event LaneCancelled(address indexed maker, uint64 indexed lane, uint64 newNonce);

    /// @notice A zero address, or a vault holding another token.
    error InvalidConfig();
    /// @notice `side` is neither `ASK` nor `BID`.
    error InvalidSide(uint8 side);
    /// @notice A fill of zero units.
    error ZeroUnits();
    /// @notice The order's signature is not the maker's (or it was signed for another chain or contract).
    error InvalidSignature(bytes32 orderHash);
    /// @notice The order expired.
    error OrderExpired(bytes32 orderHash);
    /// @notice The order was cancelled.
    error OrderCancelledAlready(bytes32 orderHash);
    /// @notice The order's lane nonce is not the lane's current one (the lane was cancelled).
    error LaneNonceStale(bytes32 orderHash, uint64 current);
    /// @notice The fill asks for more units than remain.
    error Overfill(bytes32 orderHash, uint256 remaining);
    /// @notice The fill is below the order's minimum and does not take the whole rest.
    error BelowMinFill(bytes32 orderHash, uint256 minFill);
    /// @notice The maker cannot fill its own order.
    error SelfFill(bytes32 orderHash);
    /// @notice The compute order's window has not opened, or the units do not fit before it closes.
    error OutsideWindow(bytes32 orderHash);
    /// @notice Only the maker can cancel an order.
    error NotMaker(bytes32 orderHash);
    /// @notice The trade's quote token is the zero address or FTNS itself.
    error InvalidQuote(address quote);

    /// @param vault_ The CreditVault whose token is FTNS.
    /// @param unitSeconds_ Seconds of compute per unit (60: a unit is one minute).
    /// @param settlementGrace_ Seconds a compute lock outlives its units.
    constructor(CreditVault vault_, uint256 unitSeconds_, uint256 settlementGrace_) EIP712("ComputeMarket", "1") {
        if (address(vault_) == address(0) || unitSeconds_ == 0) revert InvalidConfig();
        vault = vault_;
        ftns = vault_.token();
        unitSeconds = unitSeconds_;
        settlementGrace = settlementGrace_;
    }

    // ---------------------------------------------------------------- fills

    /// @notice Fills `units` of a compute order; opens a vault lock from the buyer to the provider.
    /// @dev The taker is the buyer (payer) of an ask and the provider of a bid. The payer must have approved this
    /// market as a locker in the vault and hold `units * pricePerUnit` free there.
    /// @param order The signed order.
    /// @param r The maker's signature `r`.
    /// @param vs The maker's signature compact `vs` (EIP-2098).
    /// @param units The units to fill.
    /// @return lockId The vault lock opened.
    function fillCompute(ComputeOrder calldata order, bytes32 r, bytes32 vs, uint256 units)
        external
        nonReentrant
        returns (bytes32 lockId)
    {
        return _fillCompute(order, r, vs, units);
    }

    /// @notice Fills `units` of an FTNS/quote trade order: FTNS and quote tokens change hands atomically.
    /// @dev Both sides need ERC-20 allowances for this market: the seller of FTNS on FTNS, the buyer on the quote.
    /// @param order The signed order.
    /// @param r The maker's signature `r`.
    /// @param vs The maker's signature compact `vs` (EIP-2098).
    /// @param units The units (lots) to fill.
    function fillTrade(TradeOrder calldata order, bytes32 r, bytes32 vs, uint256 units) external nonReentrant {
        _fillTrade(order, r, vs, units);
    }

    /// @notice Fills several orders in one transaction, all or none.
    /// @param computeFills Compute fills, in order.
    /// @param tradeFills Trade fills, after the compute fills.
    /// @return lockIds The locks opened by the compute fills, in order.
    function fillMany(ComputeFill[] calldata computeFills, TradeFill[] calldata tradeFills)
        external
        nonReentrant
        returns (bytes32[] memory lockIds)
    {
        uint256 n = computeFills.length;
        lockIds = new bytes32[](n);
        for (uint256 i; i < n; ) {
            ComputeFill calldata f = computeFills[i];
            lockIds[i] = _fillCompute(f.order, f.r, f.vs, f.units);
            unchecked {
                ++i;
            }
        }
        n = tradeFills.length;
        for (uint256 i; i < n; ) {
            TradeFill calldata f = tradeFills[i];
            _fillTrade(f.order, f.r, f.vs, f.units);
            unchecked {
                ++i;
            }
        }
    }

    // ---------------------------------------------------------------- cancellation

    /// @notice Cancels a compute order (with any other order of its maker that has its salt); only its maker can.
    /// @param order The order.
    function cancelCompute(ComputeOrder calldata order) external {
        _cancel(order.maker, order.salt, hashComputeOrder(order));
    }

    /// @notice Cancels a trade order (with any other order of its maker that has its salt); only its maker can.
    /// @param order The order.
    function cancelTrade(TradeOrder calldata order) external {
        _cancel(order.maker, order.salt, hashTradeOrder(order));
    }

    /// @notice Cancels every order the caller signed on `lane` with the current nonce, by bumping it.
    /// @param lane The lane.
    /// @return newNonce The lane's new nonce (sign new orders with it).
    function cancelLane(uint64 lane) external returns (uint64 newNonce) {
        newNonce = laneNonceOf[msg.sender][lane] + 1;
        laneNonceOf[msg.sender][lane] = newNonce;
        emit LaneCancelled(msg.sender, lane, newNonce);
    }

    // ---------------------------------------------------------------- views

    /// @notice The order hash (EIP-712 digest) of a compute order: what the maker signs and what fills are tracked by.
    /// @param order The order.
    /// @return The digest.
    function hashComputeOrder(ComputeOrder calldata order) public view returns (bytes32) {
        bytes32 typeHash = COMPUTE_ORDER_TYPEHASH;
        bytes32 structHash;
        // every field is one static word, so the calldata struct IS its ABI encoding (12 words): hash it in place
        // rather than re-encoding it field by field. A fill reads (and so validates) every field narrower than a word.
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), order, 0x180)
            structHash := keccak256(m, 0x1a0)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @notice The order hash (EIP-712 digest) of a trade order.
    /// @param order The order.
    /// @return The digest.
    function hashTradeOrder(TradeOrder calldata order) public view returns (bytes32) {
        bytes32 typeHash = TRADE_ORDER_TYPEHASH;
        bytes32 structHash;
        // as hashComputeOrder: 11 static words hashed in place
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), order, 0x160)
            structHash := keccak256(m, 0x180)
        }
        return _hashTypedDataV4(structHash);
    }

    /// @notice The fill record of the order(s) of `maker` with `salt`.
    /// @param maker The maker.
    /// @param salt The order's salt.
    /// @return filled The units filled.
    /// @return cancelled Whether the maker cancelled it.
    function orderStatus(address maker, uint256 salt) external view returns (uint256 filled, bool cancelled) {
        uint256 field = (_fills[maker][salt >> 2] >> ((salt & 3) << 6)) & FIELD_MASK;
        return (field & FILLED_MASK, field > FILLED_MASK);
    }

    /// @notice The EIP-712 domain separator (binds the chain id and this contract's address).
    /// @return The domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    function _fillCompute(ComputeOrder calldata order, bytes32 r, bytes32 vs, uint256 units)
        private
        returns (bytes32 lockId)
    {
        bytes32 orderHash = hashComputeOrder(order);
        _checkOrder(orderHash, order.maker, order.side, order.expiry, order.nonceLane, order.laneNonce, r, vs);
        uint256 filledBefore = _record(orderHash, order.maker, order.salt, order.maxUnits, order.minFill, units);
        // after _record, so `units` is at most the order's size (no overflow below)
        if (block.timestamp < order.windowStart || block.timestamp + units * unitSeconds > order.windowEnd) {
            revert OutsideWindow(orderHash);
        }
        (address payer, address provider) = order.side == ASK ? (msg.sender, order.maker) : (order.maker, msg.sender);
        uint96 salt;
        // uint96(uint256(keccak256(abi.encode(orderHash, filledBefore)))), in scratch space
        assembly ("memory-safe") {
            mstore(0x00, orderHash)
            mstore(0x20, filledBefore)
            salt := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffff)
        }
        uint256 lockExpiry = block.timestamp + units * unitSeconds + settlementGrace;
        lockId = vault.lockFor(payer, provider, units * order.pricePerUnit, lockExpiry, salt);
        emit ComputeFilled(orderHash, msg.sender, units, lockId);
    }

    function _fillTrade(TradeOrder calldata order, bytes32 r, bytes32 vs, uint256 units) private {
        bytes32 orderHash = hashTradeOrder(order);
        IERC20 quote = IERC20(order.quote);
        if (address(quote) == address(0) || address(quote) == address(ftns)) revert InvalidQuote(address(quote));
        _checkOrder(orderHash, order.maker, order.side, order.expiry, order.nonceLane, order.laneNonce, r, vs);
        _record(orderHash, order.maker, order.salt, order.amount, order.minFill, units);
        uint256 ftnsAmount = units * order.unitSize;
        uint256 quoteAmount = units * order.price;
        (address seller, address buyer) = order.side == ASK ? (order.maker, msg.sender) : (msg.sender, order.maker);
        emit TradeFilled(orderHash, msg.sender, units);
        ftns.safeTransferFrom(seller, buyer, ftnsAmount);
        quote.safeTransferFrom(buyer, seller, quoteAmount);
    }

    /// @dev Checks that the maker signed the order, that it is live (not expired, lane not bumped), and that the
    /// caller is not the maker.
    function _checkOrder(
        bytes32 orderHash,
        address maker,
        uint8 side,
        uint64 expiry,
        uint64 lane,
        uint64 laneNonce,
        bytes32 r,
        bytes32 vs
    ) private view {
        if (side > BID) revert InvalidSide(side);
        if (maker == msg.sender) revert SelfFill(orderHash);
        if (block.timestamp > expiry) revert OrderExpired(orderHash);
        uint64 current = laneNonceOf[maker][lane];
        if (laneNonce != current) revert LaneNonceStale(orderHash, current);
        address signer = recoverCompact(orderHash, r, vs);
        if (signer == address(0) || signer != maker) revert InvalidSignature(orderHash);
    }

    /// @dev Records a fill of `units` against an order of `size` units; returns the units filled before it.
    function _record(bytes32 orderHash, address maker, uint256 salt, uint256 size, uint256 minFill, uint256 units)
        private
        returns (uint256 filledBefore)
    {
        if (units == 0) revert ZeroUnits();
        mapping(uint256 => uint256) storage fills = _fills[maker];
        uint256 word = fills[salt >> 2];
        uint256 shift = (salt & 3) << 6;
        uint256 field = (word >> shift) & FIELD_MASK;
        if (field > FILLED_MASK) revert OrderCancelledAlready(orderHash);
        filledBefore = field;
        uint256 remaining;
        unchecked {
            remaining = size > filledBefore ? size - filledBefore : 0;
        }
        if (units > remaining) revert Overfill(orderHash, remaining);
        if (units < minFill && units != remaining) revert BelowMinFill(orderHash, minFill);
        uint256 filled;
        unchecked {
            // units <= remaining = size - filledBefore, so the sum is at most size: no overflow
            filled = filledBefore + units;
        }
        // an order larger than 2^63 - 1 units cannot be filled past that
        if (filled > FILLED_MASK) revert Overfill(orderHash, remaining);
        // only this order's field changes: filledBefore -> filled (both below 2^63, cancellation bit clear)
        fills[salt >> 2] = word ^ ((filledBefore ^ filled) << shift);
    }

    function _cancel(address maker, uint256 salt, bytes32 orderHash) private {
        if (msg.sender != maker) revert NotMaker(orderHash);
        _fills[maker][salt >> 2] |= (FILLED_MASK + 1) << ((salt & 3) << 6);
        emit OrderCancelled(orderHash, maker);
    }
}
