"""The one table from domain errors to HTTP: status, reason code and a message in Chinese and English.

Each message is written once, in English, marked with `N_`; its Chinese comes from the hub's
catalogue (`branch_hub/locale/zh_CN/LC_MESSAGES/hub.po`, docs/i18n.md).

The domain raises its own errors (`LobbyError`, `QueueError`, `BriefError`, `SecurityError`...);
only this layer knows about HTTP. `ApiError` is for what the HTTP layer itself refuses (a body
that is not JSON, a missing field, an unknown path parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from branch_common.i18n import N_
from branch_hub.briefs import (
    AlreadyClaimed,
    BadDeclineReason,
    BadFollowUpDate,
    InvalidEntry,
    LeadNotOffered,
    LeadNotSuitable,
    NotClaimHolder,
    NotesStoreError,
)
from branch_hub.catalogue_mirror import UnknownCatalogueFile
from branch_hub.catalogue_sync import CatalogueNotReady
from branch_hub.database import DatabaseError
from branch_hub.lobby import appointment_errors as booking
from branch_hub.lobby import errors as lobby
from branch_hub.lobby import scan_errors as scan
from branch_hub.lobby.product_views import UnknownProduct
from branch_hub.messages import zh
from branch_hub.queue import _errors as queue
from branch_hub.reports import BadReportPeriod
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
        self.message_zh = message_zh or _ZH_BY_CODE.get(code, _GENERIC_ZH)
        self.headers = dict(headers or {})  # e.g. `Retry-After` on a 429


@dataclass(frozen=True)
class Refusal:
    """How one kind of domain error reaches the client."""

    status: int
    code: str
    message_zh: str
    message_en: str


def _row(status: int, code: str, message_en: str) -> Refusal:
    """A table row: its Chinese read from the catalogue once, at import."""
    return Refusal(status, code, zh(message_en), message_en)


# Checked in order: a subclass must come before its base.
TABLE: tuple[tuple[type[Exception], Refusal], ...] = (
    (lobby.UnknownService, _row(400, "unknown_service", N_("No such service at this branch."))),
    (
        lobby.SessionExpired,
        _row(
            409,
            "session_expired",
            N_("The session has ended; read the card again or take a walk-in ticket."),
        ),
    ),
    (
        lobby.QueueUnavailable,
        _row(
            503,
            "queue_unavailable",
            N_("The queue cannot take this change right now; try again shortly."),
        ),
    ),
    (lobby.UnknownVisit, _row(404, "unknown_visit", N_("No such visit today."))),
    (
        booking.UnknownCustomer,
        _row(
            404,
            "appointment_unknown_customer",
            N_(
                "This visit's customer is not known to the branch; only a recognised customer can book."
            ),
        ),
    ),
    (
        booking.AppointmentWindow,
        _row(400, "appointment_window", N_("The appointment must end after it starts.")),
    ),
    (
        booking.AppointmentInPast,
        _row(400, "appointment_in_past", N_("That time has already passed; choose a later one.")),
    ),
    (
        booking.AppointmentOutsideHours,
        _row(
            400,
            "appointment_outside_hours",
            N_("The branch is not open at that time today; choose a time within opening hours."),
        ),
    ),
    (
        booking.AppointmentOverlap,
        _row(
            409,
            "appointment_overlap",
            N_("The customer already has an appointment at that time."),
        ),
    ),
    (
        scan.UnknownCode,
        _row(404, "unknown_code", N_("This is not an appointment code for today at this branch.")),
    ),
    (scan.NotATicket, _row(404, "not_a_ticket", N_("This is not a ticket of this branch today."))),
    (
        scan.TooManyWrongCodes,
        _row(429, "too_many_codes", N_("Too many codes that were not ours; wait a minute.")),
    ),
    (lobby.UnknownLead, _row(404, "unknown_lead", N_("This customer has no such lead."))),
    (
        lobby.TransferTarget,
        _row(
            400, "transfer_target_required", N_("Give a 'service' or a 'counter' to transfer to.")
        ),
    ),
    (lobby.UnknownCounter, _row(404, "unknown_counter", N_("No such counter."))),
    (lobby.UnknownStaff, _row(404, "unknown_staff", N_("No such colleague at this branch."))),
    (
        lobby.NotHandoffReceiver,
        _row(
            403,
            "not_handoff_receiver",
            N_("Only the colleague this customer was handed to may accept."),
        ),
    ),
    (
        lobby.NoPendingHandoff,
        _row(409, "no_pending_handoff", N_("This customer has not been handed to anyone.")),
    ),
    (
        lobby.HandoffTaken,
        _row(409, "handoff_taken", N_("A colleague has already accepted this customer.")),
    ),
    (lobby.NoManagerAlert, _row(404, "no_manager_alert", N_("No such alert to dismiss."))),
    (
        lobby.CustomerNotFound,
        _row(404, "customer_not_found", N_("No customer with this card, passbook or ID number.")),
    ),
    (
        lobby.TicketNotWaiting,
        _row(
            409,
            "ticket_not_waiting",
            N_("This ticket is no longer waiting: too late to change it."),
        ),
    ),
    (
        lobby.AlreadyIdentified,
        _row(409, "already_identified", N_("This ticket's customer is already known.")),
    ),
    (
        lobby.UnknownDesk,
        _row(404, "unknown_desk", N_("This branch has no desk reader of that name.")),
    ),
    (
        lobby.DeskBusy,
        _row(409, "desk_busy", N_("Another request is already waiting for a read at this desk.")),
    ),
    (
        lobby.DeskReadTimeout,
        _row(
            409,
            "desk_read_timeout",
            N_("No ID card was read; place the ID card on the reader and try again."),
        ),
    ),
    (
        lobby.TicketNotParked,
        _row(409, "ticket_not_parked", N_("Only a parked ticket can be resumed.")),
    ),
    (
        lobby.RequestConflict,
        _row(409, "request_id_reused", N_("This request id already answered another action.")),
    ),
    (
        AlreadyClaimed,
        _row(409, "already_claimed", N_("A colleague has already claimed this customer.")),
    ),
    (
        NotClaimHolder,
        _row(
            409,
            "not_claim_holder",
            N_("Only the colleague who claimed this customer may hand off."),
        ),
    ),
    (
        BadDeclineReason,
        _row(400, "bad_decline_reason", N_("Choose why the customer declined from the list.")),
    ),
    (
        BadFollowUpDate,
        _row(
            400,
            "bad_follow_up_date",
            N_("Give a follow-up date after today and within the allowed number of days."),
        ),
    ),
    (
        LeadNotOffered,
        _row(
            409,
            "lead_not_offered",
            N_("The customer declined this product recently: do not offer it again."),
        ),
    ),
    (
        LeadNotSuitable,
        _row(
            409,
            "lead_not_suitable",
            N_(
                "None of this lead's products suits the customer's risk assessment today: "
                "do not offer it; record it as not suitable."
            ),
        ),
    ),
    (InvalidEntry, _row(400, "bad_entry", N_("The entry is not valid."))),
    (NotesStoreError, _row(503, "notes_unavailable", N_("The notes store is unavailable."))),
    (queue.UnknownTicket, _row(404, "unknown_ticket", N_("No such ticket today."))),
    (queue.UnknownCounter, _row(404, "unknown_counter", N_("No such counter."))),
    (queue.UnknownService, _row(400, "unknown_service", N_("No such service at this branch."))),
    (queue.GraceExpired, _row(409, "grace_expired", N_("The no-show grace period is over."))),
    (queue.CounterClosed, _row(409, "counter_closed", N_("The counter is not open."))),
    (
        queue.NotServedHere,
        _row(409, "not_served_here", N_("That counter does not serve this service.")),
    ),
    (
        queue.InvalidTransition,
        _row(409, "invalid_transition", N_("The ticket's state does not allow this.")),
    ),
    (queue.StoreError, _row(503, "queue_unavailable", N_("The queue database is unavailable."))),
    (queue.QueueError, _row(409, "queue_refused", N_("The queue refused this operation."))),
    (DatabaseError, _row(503, "store_unavailable", N_("The hub's database is unavailable."))),
    (
        AccountLocked,
        _row(423, "account_locked", N_("Too many wrong PINs: the account is locked for a while.")),
    ),
    (AccountDisabled, _row(403, "account_disabled", N_("This account is disabled."))),
    (LoginFailed, _row(401, "login_failed", N_("Staff id or PIN is wrong."))),
    (EnrolmentError, _row(400, "enrolment_refused", N_("The enrolment was refused."))),
    (
        RenewalNotDue,
        _row(409, "renewal_not_due", N_("This certificate is not yet due for renewal.")),
    ),
    (
        RenewalTooSoon,
        _row(
            429,
            "too_many_renewals",
            N_("This device renewed its certificate recently; try again later."),
        ),
    ),
    (
        UnknownProduct,
        _row(404, "catalogue_product_unknown", N_("The product catalogue has no such product.")),
    ),
    (
        CatalogueNotReady,
        _row(
            404, "catalogue_not_ready", N_("No product catalogue has reached the hub from HQ yet.")
        ),
    ),
    (
        UnknownCatalogueFile,
        _row(404, "catalogue_file_unknown", N_("The hub's catalogue holds no such file.")),
    ),
    (
        BadReportPeriod,
        _row(
            400,
            "bad_report_period",
            N_("A report covers a day, a week or a month up to today, given as YYYY-MM-DD."),
        ),
    ),
)

# The HTTP layer's own refusals: one message per reason code (the raise site may say more).
_EN_BY_CODE = {
    "bad_json": N_("The request body is not a valid JSON object."),
    "bad_encoding": N_("The request body is not valid UTF-8 text."),
    "bad_json_depth": N_("The request body nests too deeply."),
    "bad_duplicate_key": N_("An object in the request body repeats a field name."),
    "bad_number": N_("The request body holds a number that is not valid."),
    "bad_json_type": N_("The request body must be a JSON object."),
    "body_too_large": N_("The request body is too large."),
    "method_not_allowed": N_("This path does not take this request method."),
    "body_required": N_("The request needs a JSON body."),
    "device_not_enrolled": N_("This device is not enrolled; enrol it first."),
    "device_kind_forbidden": N_("This kind of device may not do this."),
    "login_required": N_("Please log in with your staff id and PIN."),
    "session_invalid": N_("The login is no longer valid; log in again."),
    "role_forbidden": N_("Your role may not do this."),
    "unknown_station": N_("This kiosk is not a station of the branch."),
    "not_found": N_("Nothing was found at this address."),
    "too_many_requests": N_("Too many requests; try again shortly."),
    "too_many_attempts": N_("Too many failed attempts; try again later."),
    "rate_limited": N_("This device sends too many requests; try again shortly."),
    "disk_reserve": N_(
        "The hub's storage is nearly full and takes no more of this kind of content for now; tickets, calls and the other services carry on."
    ),
    "bad_report": N_("The update report is not valid or too long."),
    "bad_staff_id": N_("The staff id must be text of at most 64 characters."),
    "bad_pin": N_("The PIN must be non-empty text of limited length."),
    "bad_code": N_("The enrolment code must be text of at most 64 characters."),
    "bad_csr": N_(
        "The certificate request is not valid: it must be non-empty PEM text of limited length."
    ),
    "internal_error": N_("Internal error; the hub logged the details."),
    "renewal_refused": N_(
        "The certificate renewal was refused: the certificate request is not valid."
    ),
    "bad_force": N_("The force field must be true or false."),
    "wrong_pin": N_("This is not the signed-in staff member's PIN."),
    "bad_catalogue_query": N_(
        "The catalogue search is not valid: check the words, the category, the risk and the limit."
    ),
    "bad_appointment": N_(
        "The appointment is not valid: give a visit, a service and the window as HH:MM times."
    ),
    "bad_appointment_date": N_("The date must be given as YYYY-MM-DD."),
}
_GENERIC = N_("The request is not valid; check it and try again.")
_ZH_BY_CODE = {code: zh(message) for code, message in _EN_BY_CODE.items()}
_GENERIC_ZH = zh(_GENERIC)


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
