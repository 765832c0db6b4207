"""The one table from domain errors to HTTP: status, reason code and a message in Chinese and English.

The domain raises its own errors (`LobbyError`, `QueueError`, `BriefError`, `SecurityError`...);
only this layer knows about HTTP. `ApiError` is for what the HTTP layer itself refuses (a body
that is not JSON, a missing field, an unknown path parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from branch_hub.briefs import AlreadyClaimed, InvalidEntry, NotClaimHolder, NotesStoreError
from branch_hub.database import DatabaseError
from branch_hub.lobby import errors as lobby
from branch_hub.queue import _errors as queue
from branch_hub.security.errors import AccountDisabled, AccountLocked, EnrolmentError, LoginFailed
from branch_hub.security.renewal import RenewalNotDue, RenewalTooSoon

__all__ = ["ApiError", "Refusal", "error_response", "refusal_for"]


class ApiError(Exception):
    """A request the HTTP layer refuses, with its status, reason code and messages."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        message_zh: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.message_zh = message_zh or _ZH_BY_CODE.get(code, "请求无效，请检查后重试。")
        self.headers = dict(headers or {})  # e.g. `Retry-After` on a 429


@dataclass(frozen=True)
class Refusal:
    """How one kind of domain error reaches the client."""

    status: int
    code: str
    message_zh: str
    message_en: str


# Checked in order: a subclass must come before its base.
TABLE: tuple[tuple[type[Exception], Refusal], ...] = (
    (
        lobby.UnknownService,
        Refusal(400, "unknown_service", "本网点没有该业务。", "No such service at this branch."),
    ),
    (
        lobby.SessionExpired,
        Refusal(
            409,
            "session_expired",
            "本次会话已结束，请重新插卡或领取普通号。",
            "The session has ended; read the card again or take a walk-in ticket.",
        ),
    ),
    (
        lobby.QueueUnavailable,
        Refusal(
            503,
            "queue_unavailable",
            "排队系统暂时无法处理，请稍后再试。",
            "The queue cannot take this change right now; try again shortly.",
        ),
    ),
    (
        lobby.UnknownVisit,
        Refusal(404, "unknown_visit", "今天没有这位客户的到访记录。", "No such visit today."),
    ),
    (
        lobby.UnknownLead,
        Refusal(404, "unknown_lead", "该客户没有这条商机。", "This customer has no such lead."),
    ),
    (
        lobby.TransferTarget,
        Refusal(
            400,
            "transfer_target_required",
            "请选择转去的业务或窗口。",
            "Give a 'service' or a 'counter' to transfer to.",
        ),
    ),
    (lobby.UnknownCounter, Refusal(404, "unknown_counter", "没有这个窗口。", "No such counter.")),
    (
        lobby.RequestConflict,
        Refusal(
            409,
            "request_id_reused",
            "该请求编号已用于另一项操作。",
            "This request id already answered another action.",
        ),
    ),
    (
        AlreadyClaimed,
        Refusal(
            409,
            "already_claimed",
            "已有同事接待这位客户。",
            "A colleague has already claimed this customer.",
        ),
    ),
    (
        NotClaimHolder,
        Refusal(
            409,
            "not_claim_holder",
            "只有接待该客户的同事才能转交。",
            "Only the colleague who claimed this customer may hand off.",
        ),
    ),
    (
        InvalidEntry,
        Refusal(400, "bad_entry", "内容无效，请检查后重试。", "The entry is not valid."),
    ),
    (
        NotesStoreError,
        Refusal(
            503, "notes_unavailable", "备注存储暂时不可用。", "The notes store is unavailable."
        ),
    ),
    (
        queue.UnknownTicket,
        Refusal(404, "unknown_ticket", "今天没有这张号票。", "No such ticket today."),
    ),
    (queue.UnknownCounter, Refusal(404, "unknown_counter", "没有这个窗口。", "No such counter.")),
    (
        queue.UnknownService,
        Refusal(400, "unknown_service", "本网点没有该业务。", "No such service at this branch."),
    ),
    (
        queue.GraceExpired,
        Refusal(409, "grace_expired", "过号等待时间已过。", "The no-show grace period is over."),
    ),
    (
        queue.CounterClosed,
        Refusal(409, "counter_closed", "该窗口未开放。", "The counter is not open."),
    ),
    (
        queue.NotServedHere,
        Refusal(
            409,
            "not_served_here",
            "该窗口不办理这项业务。",
            "That counter does not serve this service.",
        ),
    ),
    (
        queue.InvalidTransition,
        Refusal(
            409,
            "invalid_transition",
            "号票当前状态不允许这项操作。",
            "The ticket's state does not allow this.",
        ),
    ),
    (
        queue.StoreError,
        Refusal(
            503, "queue_unavailable", "排队数据库暂时不可用。", "The queue database is unavailable."
        ),
    ),
    (
        queue.QueueError,
        Refusal(
            409, "queue_refused", "排队系统拒绝了这项操作。", "The queue refused this operation."
        ),
    ),
    (
        DatabaseError,
        Refusal(
            503, "store_unavailable", "数据存储暂时不可用。", "The hub's database is unavailable."
        ),
    ),
    (
        AccountLocked,
        Refusal(
            423,
            "account_locked",
            "密码错误次数过多，账户已暂时锁定。",
            "Too many wrong PINs: the account is locked for a while.",
        ),
    ),
    (
        AccountDisabled,
        Refusal(403, "account_disabled", "该账户已停用。", "This account is disabled."),
    ),
    (LoginFailed, Refusal(401, "login_failed", "工号或密码错误。", "Staff id or PIN is wrong.")),
    (
        EnrolmentError,
        Refusal(400, "enrolment_refused", "设备注册被拒绝。", "The enrolment was refused."),
    ),
    (
        RenewalNotDue,
        Refusal(
            409,
            "renewal_not_due",
            "设备证书尚未到可续期时间。",
            "This certificate is not yet due for renewal.",
        ),
    ),
    (
        RenewalTooSoon,
        Refusal(
            429,
            "too_many_renewals",
            "此设备刚续期过证书，请稍后再试。",
            "This device renewed its certificate recently; try again later.",
        ),
    ),
)

# Messages for the HTTP layer's own refusals, by reason code.
_ZH_BY_CODE = {
    "bad_json": "请求内容不是有效的 JSON 对象。",
    "bad_encoding": "请求内容不是有效的 UTF-8 文本。",
    "bad_json_depth": "请求内容嵌套层级过深。",
    "bad_duplicate_key": "请求内容中同一对象有重复的字段名。",
    "bad_number": "请求内容含有无效的数值。",
    "bad_json_type": "请求内容必须是 JSON 对象。",
    "body_too_large": "请求内容过大。",
    "method_not_allowed": "此地址不支持这种请求方法。",
    "body_required": "请求需要 JSON 内容。",
    "device_not_enrolled": "此设备未注册，请先完成设备注册。",
    "device_kind_forbidden": "此类设备不能进行这项操作。",
    "login_required": "请使用工号和密码登录。",
    "session_invalid": "登录已失效，请重新登录。",
    "role_forbidden": "您的岗位无权进行这项操作。",
    "unknown_station": "此自助机不属于本网点。",
    "not_found": "没有找到请求的内容。",
    "too_many_requests": "请求过于频繁，请稍后再试。",
    "too_many_attempts": "失败次数过多，请稍后再试。",
    "rate_limited": "此设备的请求过于频繁，请稍后再试。",
    "disk_reserve": "集线器存储空间不足，暂不接收此类内容；取号、叫号等业务照常进行。",
    "bad_report": "更新报告内容无效或过长。",
    "bad_staff_id": "工号须为不超过 64 个字符的文本。",
    "bad_pin": "密码须为长度有限的非空文本。",
    "bad_code": "注册码须为不超过 64 个字符的文本。",
    "bad_csr": "证书请求无效：须为长度有限的非空 PEM 文本。",
    "internal_error": "系统内部错误，已记录详情。",
    "renewal_refused": "证书续期被拒绝：证书请求无效。",
    "bad_force": "force 字段必须为 true 或 false。",
}


def refusal_for(exc: Exception) -> Refusal | None:
    """The table's row for a domain error, or None when it is not one the table knows."""
    for kind, refusal in TABLE:
        if isinstance(exc, kind):
            return refusal
    return None


def error_response(status: int, code: str, message: str, message_zh: str) -> web.Response:
    """The JSON error body every refusal has."""
    body = {"error": {"code": code, "message": message, "message_zh": message_zh}}
    return web.json_response(body, status=status, dumps=_dumps)


def _dumps(value: object) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
