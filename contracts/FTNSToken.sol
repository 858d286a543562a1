// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title FTNS, the meshnode credit token
/// @notice A capped ERC-20 with EIP-2612 permits. New tokens come only from holders of `MINTER_ROLE` (the training
/// reward pool, and the faucet on the local chain), and never past the cap.
/// @dev Deliberately has no burn, no forced transfer, no pause and no upgrade path: no role, the admin included, can
/// take, freeze or destroy tokens that someone else holds. The admin can only grant and revoke roles.
contract FTNSToken is ERC20, ERC20Permit, ERC20Capped, AccessControl {
    /// @notice The role allowed to mint new tokens, within the cap.
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @notice The admin is the zero address.
    error FTNSZeroAdmin();

    /// @param name_ The token name (also the EIP-712 domain name of permits).
    /// @param symbol_ The token symbol.
    /// @param cap_ The maximum total supply, in wei.
    /// @param admin The holder of `DEFAULT_ADMIN_ROLE` (grants and revokes `MINTER_ROLE`); passed explicitly so the
    /// deployment does not depend on who sends it (deterministic deployments through a CREATE2 factory).
    constructor(string memory name_, string memory symbol_, uint256 cap_, address admin)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
        ERC20Capped(cap_)
    {
        if (admin == address(0)) revert FTNSZeroAdmin();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @notice Mints `amount` new tokens to `to`.
    /// @dev Only `MINTER_ROLE`; reverts with `ERC20ExceededCap` past the cap. Emits `Transfer(0, to, amount)`.
    /// @param to The receiver.
    /// @param amount The amount in wei.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @dev Both ERC20 and ERC20Capped define `_update`; the cap check runs after the balance update.
    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
