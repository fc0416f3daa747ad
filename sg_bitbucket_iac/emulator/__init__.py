"""Local emulator of the StackGuardian connector API and the Bitbucket Cloud API (test and demo use).

``with Emulator() as emu:`` starts both emulated APIs and the admin API on loopback ports;
``emu.stackguardian_url``, ``emu.bitbucket_url`` and ``emu.admin_url`` are their base URLs.
"""

from .server import Emulator, EmulatorAdminError
from .switches import StackGuardianOptions

__all__ = ["Emulator", "EmulatorAdminError", "StackGuardianOptions"]
