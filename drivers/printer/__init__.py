"""ESC/POS ticket printers: ticket layout, real-time status, the device over serial, USB or network."""

from drivers.printer.device import (
    EscposTransport,
    Printer,
    PrinterFault,
    PrinterTransport,
    PrintResult,
    SerialTransport,
    open_transport,
)
from drivers.printer.status import PrinterStatus, StatusError, combine_status, decode_status
from drivers.printer.ticket import TicketLayout, sample_ticket, ticket_bytes

__all__ = [
    "EscposTransport",
    "PrintResult",
    "Printer",
    "PrinterFault",
    "PrinterStatus",
    "PrinterTransport",
    "SerialTransport",
    "StatusError",
    "TicketLayout",
    "combine_status",
    "decode_status",
    "open_transport",
    "sample_ticket",
    "ticket_bytes",
]
