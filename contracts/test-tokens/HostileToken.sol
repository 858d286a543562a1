// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A token that calls back into a target during each transfer (tests only)
/// @notice Armed with a target and calldata, every transfer first calls the target; the outcome is recorded so a
/// test can assert that the re-entrant call was refused (and the outer operation still behaved).
contract HostileToken is ERC20 {
    /// @notice The contract to call back into.
    address public reentryTarget;
    /// @notice The calldata of the re-entrant call.
    bytes public payload;
    /// @notice How many re-entrant calls were attempted.
    uint256 public attempts;
    /// @notice How many re-entrant calls succeeded.
    uint256 public successes;
    /// @notice The revert data of the last failed re-entrant call.
    bytes public lastError;

    constructor() ERC20("Hostile Token", "HOST") {}

    /// @notice Mints freely (tests only).
    /// @param to The receiver.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the call made on each transfer (`target` zero disarms).
    /// @param target_ The contract to call.
    /// @param payload_ The calldata.
    function arm(address target_, bytes calldata payload_) external {
        reentryTarget = target_;
        payload = payload_;
    }

    /// @dev Calls back once per transfer (disarming itself during the call so it does not recurse).
    function _update(address from, address to, uint256 value) internal override {
        address t = reentryTarget;
        if (t != address(0) && from != address(0)) {
            reentryTarget = address(0);
            attempts += 1;
            (bool ok, bytes memory ret) = t.call(payload);
            if (ok) {
                successes += 1;
            } else {
                lastError = ret;
            }
            reentryTarget = t;
        }
        super._update(from, to, value);
    }
}
