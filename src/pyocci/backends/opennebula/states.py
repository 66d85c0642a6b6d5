"""OpenNebula's VM states as OCCI compute states.

A VM is ``active`` when RUNNING; ``inactive`` when powered off, stopped,
undeployed or held (states only a request leaves); ``suspended`` when
suspended; ``error`` when a driver action failed (``FAILURE`` and every
``*_FAILURE`` state, ``UNKNOWN``, ``FAILED``, ``CLONING_FAILURE``); and
``waiting`` while oned works on it (pending, booting, saving, hot-plugging,
powering off...). A VM being terminated, or ``DONE``, is gone.
"""

from __future__ import annotations

from enum import IntEnum

import pyone

VM = pyone.VM_STATE
LCM = pyone.LCM_STATE

#: Terminated: no longer a compute.
DONE = VM.DONE

#: LCM states of a VM being terminated (terminate's SHUTDOWN, terminate-hard's CANCEL,
#: then EPILOG; CLEANUP_DELETE for recover --delete): gone as far as OCCI goes.
_TERMINATING = {LCM.SHUTDOWN, LCM.CANCEL, LCM.EPILOG, LCM.CLEANUP_DELETE}

_BY_VM_STATE = {
    VM.HOLD: "inactive",
    VM.STOPPED: "inactive",
    VM.POWEROFF: "inactive",
    VM.UNDEPLOYED: "inactive",
    VM.SUSPENDED: "suspended",
    VM.FAILED: "error",
    VM.CLONING_FAILURE: "error",
}


def compute_state(state: int, lcm_state: int) -> str:
    """The occi.compute.state of a VM's STATE and LCM_STATE."""
    if state == VM.ACTIVE:
        if lcm_state == LCM.RUNNING:
            return "active"
        name = _name(LCM, lcm_state)
        if name.endswith("FAILURE") or lcm_state == LCM.UNKNOWN:
            return "error"
        return "waiting"
    return _BY_VM_STATE.get(state, "waiting")


def terminating(state: int, lcm_state: int) -> bool:
    """Whether oned is terminating the VM, or has (DONE): no longer a compute."""
    return state == DONE or (state == VM.ACTIVE and lcm_state in _TERMINATING)


def state_message(state: int, lcm_state: int) -> str:
    """oned's own names of the states, for occi.compute.state.message."""
    message = f"OpenNebula {_name(VM, state)}"
    if state == VM.ACTIVE:
        message += f" ({_name(LCM, lcm_state)})"
    return message


def _name(states: type[IntEnum], value: int) -> str:
    try:
        return states(value).name
    except ValueError:
        return str(value)
