// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A plain quote token for the local chain and tests (a stand-in for a stablecoin)
/// @notice Anyone named `minter` at deployment can mint; it exists only on `local` and in tests.
contract TestQuoteToken is ERC20 {
    /// @notice The only account that can mint.
    address public immutable minter;
    uint8 private immutable _decimals;

    /// @notice The caller is not the minter.
    error NotMinter();

    /// @param name_ The token name.
    /// @param symbol_ The token symbol (the market is named `ftns-<symbol>`).
    /// @param decimals_ The token decimals (6 like USDC, or 18).
    /// @param minter_ The account allowed to mint (the local faucet).
    constructor(string memory name_, string memory symbol_, uint8 decimals_, address minter_) ERC20(name_, symbol_) {
        _decimals = decimals_;
        minter = minter_;
    }

    /// @notice Mints `amount` to `to`; only the minter.
    /// @param to The receiver.
    /// @param amount The amount in the token's smallest unit.
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter();
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
