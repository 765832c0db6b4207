"""China 2nd-generation resident ID card readers (SAM_V serial protocol): codec, text block, device."""

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
from drivers.idcard.reader import IdCardRead, IdReader
from drivers.idcard.text import IdentityRecord, TextBlockError, decode_text_block, encode_text_block

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
