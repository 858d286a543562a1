// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev The largest `s` a signature may have (EIP-2 low-s, as OpenZeppelin's ECDSA): the secp256k1 order / 2.
uint256 constant MAX_S = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

/// @dev The signer of `digest` by an EIP-2098 compact signature, or zero when it is invalid or has a high `s`
/// (OpenZeppelin's `ECDSA.tryRecover(digest, r, vs)` without its memory allocations). Shared by the vault's vouchers
/// and the market's orders.
function recoverCompact(bytes32 digest, bytes32 r, bytes32 vs) view returns (address signer) {
    assembly ("memory-safe") {
        let s := shr(1, shl(1, vs))
        if iszero(gt(s, MAX_S)) {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), add(shr(255, vs), 27))
            mstore(add(m, 0x40), r)
            mstore(add(m, 0x60), s)
            mstore(0x00, 0)
            // the precompile writes nothing for a signature it cannot recover: the zero above stays
            pop(staticcall(gas(), 1, m, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
    }
}
