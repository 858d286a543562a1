// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ComputeMarket} from "../ComputeMarket.sol";
import {CreditVault} from "../CreditVault.sol";

/// @title Reads the ledger's state in one call (tests only)
/// @notice Property tests compare the chain with their model after every transaction; one call instead of dozens keeps
/// that fast.
contract LedgerLens {
    /// @notice What the vault properties compare.
    struct VaultState {
        uint256 vaultBalance;
        uint256 totalSupply;
        uint256[] wallet;
        uint256[] free;
        uint256[] pendingAmount;
        uint256[] pendingReadyAt;
        CreditVault.Lock[] locks;
    }

    /// @notice What the market property compares.
    struct MarketState {
        uint256 vaultBalance;
        uint256[] ftns;
        uint256[] quote;
        uint256[] free;
        uint256[] filled;
        bool[] cancelled;
    }

    /// @notice The vault's token balance and supply, each account's wallet, free balance and pending withdrawal, and
    /// the given locks.
    /// @param vault The vault.
    /// @param accounts The accounts.
    /// @param lockIds The locks.
    /// @return s The state.
    function readVault(CreditVault vault, address[] calldata accounts, bytes32[] calldata lockIds)
        external
        view
        returns (VaultState memory s)
    {
        IERC20 token = vault.token();
        s.vaultBalance = token.balanceOf(address(vault));
        s.totalSupply = token.totalSupply();
        uint256 n = accounts.length;
        s.wallet = new uint256[](n);
        s.free = new uint256[](n);
        s.pendingAmount = new uint256[](n);
        s.pendingReadyAt = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            s.wallet[i] = token.balanceOf(accounts[i]);
            s.free[i] = vault.freeBalanceOf(accounts[i]);
            (uint128 amount, uint64 readyAt) = vault.withdrawalOf(accounts[i]);
            s.pendingAmount[i] = amount;
            s.pendingReadyAt[i] = readyAt;
        }
        s.locks = new CreditVault.Lock[](lockIds.length);
        for (uint256 i; i < lockIds.length; ++i) s.locks[i] = vault.getLock(lockIds[i]);
    }

    /// @notice The vault's FTNS, each account's FTNS and quote balances and vault free balance, and each order's fill
    /// state.
    /// @param market The market.
    /// @param quote The quote token.
    /// @param accounts The accounts.
    /// @param makers The orders' makers.
    /// @param salts The orders' salts (the market keeps fill records per maker and salt).
    /// @return s The state.
    function readMarket(
        ComputeMarket market,
        IERC20 quote,
        address[] calldata accounts,
        address[] calldata makers,
        uint256[] calldata salts
    )
        external
        view
        returns (MarketState memory s)
    {
        IERC20 ftns = market.ftns();
        CreditVault vault = market.vault();
        s.vaultBalance = ftns.balanceOf(address(vault));
        uint256 n = accounts.length;
        s.ftns = new uint256[](n);
        s.quote = new uint256[](n);
        s.free = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            s.ftns[i] = ftns.balanceOf(accounts[i]);
            s.quote[i] = quote.balanceOf(accounts[i]);
            s.free[i] = vault.freeBalanceOf(accounts[i]);
        }
        s.filled = new uint256[](salts.length);
        s.cancelled = new bool[](salts.length);
        for (uint256 i; i < salts.length; ++i) {
            (uint256 filled, bool cancelled) = market.orderStatus(makers[i], salts[i]);
            s.filled[i] = filled;
            s.cancelled[i] = cancelled;
        }
    }
}
