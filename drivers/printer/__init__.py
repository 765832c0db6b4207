"""ESC/POS ticket printers: ticket layout, real-time status, the device over serial, USB or network.

Exports load on first use, so importing one codec module stays free of device libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers._lazy import lazy_exports
from drivers.printer.profiles_cache import keep_escpos_profiles

keep_escpos_profiles()  # before anything imports escpos

if TYPE_CHECKING:
    from drivers.printer.device import (
        EscposTransport,
        Printer,
        PrinterFault,
        PrinterTransport,
        PrintResult,
        SerialTransport,
        open_transport,
    )
    from drivers.printer.status import (
        PrinterState,
        PrinterStatus,
        StatusError,
        combine_status,
        decode_status,
        printer_state,
    )
    from drivers.printer.ticket import (
        TicketLayout,
        sample_ticket,
        ticket_bytes,
    )

_EXPORTS = {
    "EscposTransport": "device",
    "PrintResult": "device",
    "Printer": "device",
    "PrinterFault": "device",
    "PrinterTransport": "device",
    "SerialTransport": "device",
    "open_transport": "device",
    "PrinterState": "status",
    "PrinterStatus": "status",
    "StatusError": "status",
    "combine_status": "status",
    "decode_status": "status",
    "printer_state": "status",
    "TicketLayout": "ticket",
    "sample_ticket": "ticket",
    "ticket_bytes": "ticket",
}
__all__ = [
    "EscposTransport",
    "PrintResult",
    "Printer",
    "PrinterFault",
    "PrinterState",
    "PrinterStatus",
    "PrinterTransport",
    "SerialTransport",
    "StatusError",
    "TicketLayout",
    "combine_status",
    "decode_status",
    "open_transport",
    "printer_state",
    "sample_ticket",
    "ticket_bytes",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
