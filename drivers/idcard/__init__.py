"""China 2nd-generation resident ID card readers (SAM_V serial protocol): codec, text block, device.

Exports load on first use, so importing one codec module stays free of device libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers._lazy import lazy_exports

if TYPE_CHECKING:
    from drivers.idcard.codec import (
        ChecksumError,
        FrameError,
        FrameReceiver,
        SamStatusError,
        build_command,
        build_response,
        parse_command,
        parse_read_payload,
        parse_response,
    )
    from drivers.idcard.reader import (
        IdCardRead,
        IdReader,
    )
    from drivers.idcard.text import (
        IdentityRecord,
        TextBlockError,
        decode_text_block,
        encode_text_block,
    )

_EXPORTS = {
    "ChecksumError": "codec",
    "FrameError": "codec",
    "FrameReceiver": "codec",
    "SamStatusError": "codec",
    "build_command": "codec",
    "build_response": "codec",
    "parse_command": "codec",
    "parse_read_payload": "codec",
    "parse_response": "codec",
    "IdCardRead": "reader",
    "IdReader": "reader",
    "IdentityRecord": "text",
    "TextBlockError": "text",
    "decode_text_block": "text",
    "encode_text_block": "text",
}
__all__ = [
    "ChecksumError",
    "FrameError",
    "FrameReceiver",
    "IdCardRead",
    "IdReader",
    "IdentityRecord",
    "SamStatusError",
    "TextBlockError",
    "build_command",
    "build_response",
    "decode_text_block",
    "encode_text_block",
    "parse_command",
    "parse_read_payload",
    "parse_response",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
