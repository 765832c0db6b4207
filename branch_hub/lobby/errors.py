"""What the lobby refuses, as domain errors; the API maps each to a status and a message.

LobbyError
 +- UnknownService      the branch has no such service
 +- SessionExpired      the kiosk session the ticket was for has ended
 +- QueueUnavailable    the queue could not issue or change a ticket
 +- UnknownVisit        no such visit today
 +- UnknownLead         the customer has no such lead
 +- InvalidEntry*       a note, hand-off or outcome the notes store refused (briefs)
 +- TransferTarget      a transfer names neither a service nor a counter
 +- UnknownCounter      no such counter at this branch
 +- RequestConflict     a request id reused for another action
 +- TicketNotParked     only a parked ticket can be resumed
 +- UnknownStaff        a hand-off names nobody of this branch
 +- NotHandoffReceiver  someone else than the receiver (or their role) accepts a hand-off
 +- NoPendingHandoff    the visit has no hand-off to accept
 +- HandoffTaken        a colleague already accepted the hand-off
 +- NoManagerAlert      no such alert to dismiss
 +- CustomerNotFound    the identifier read or typed names no customer the branch knows
 +- TicketNotWaiting    a called, parked or finished ticket can no longer be identified
 +- AlreadyIdentified   the ticket's customer is already known
 +- UnknownDesk         no desk reader of that name (a kiosk station is no desk)
 +- DeskBusy            another request already waits for a read at that desk
 +- DeskReadTimeout     nothing was read at the desk in time
"""

from __future__ import annotations

__all__ = [
    "AlreadyIdentified",
    "CustomerNotFound",
    "DeskBusy",
    "DeskReadTimeout",
    "HandoffTaken",
    "LobbyError",
    "NoManagerAlert",
    "NoPendingHandoff",
    "NotHandoffReceiver",
    "QueueUnavailable",
    "RequestConflict",
    "SessionExpired",
    "TicketNotParked",
    "TicketNotWaiting",
    "TransferTarget",
    "UnknownCounter",
    "UnknownDesk",
    "UnknownLead",
    "UnknownService",
    "UnknownStaff",
    "UnknownVisit",
]


class LobbyError(Exception):
    """Something the lobby refuses to do; the message is for logs and the English text."""


class UnknownService(LobbyError):
    """The branch offers no such service."""


class SessionExpired(LobbyError):
    """The kiosk session the request names has ended."""


class QueueUnavailable(LobbyError):
    """The queue could not take the change (its database failed)."""


class UnknownVisit(LobbyError):
    """No such visit today."""


class UnknownLead(LobbyError):
    """The customer has no such lead."""


class TransferTarget(LobbyError):
    """A transfer needs a service or a counter."""


class UnknownCounter(LobbyError):
    """No such counter at this branch."""


class RequestConflict(LobbyError):
    """A request id already answered another action."""


class TicketNotParked(LobbyError):
    """Only a parked ticket can be resumed."""


class UnknownStaff(LobbyError):
    """A hand-off names a colleague this branch does not have (or a disabled one)."""


class NotHandoffReceiver(LobbyError):
    """Only the named receiver, or someone of the role it went to, may accept a hand-off."""


class NoPendingHandoff(LobbyError):
    """The visit has no hand-off to accept."""


class HandoffTaken(LobbyError):
    """A colleague has already accepted the hand-off."""


class NoManagerAlert(LobbyError):
    """The caller has no such alert to dismiss."""


class CustomerNotFound(LobbyError):
    """The card, passbook or ID number names no customer in the branch's cache."""


class TicketNotWaiting(LobbyError):
    """Only a waiting ticket can take its customer's class (called, parked or done: too late)."""


class AlreadyIdentified(LobbyError):
    """The ticket's visit already has its customer."""


class UnknownDesk(LobbyError):
    """The branch has no desk reader of that name (a kiosk station is not a desk)."""


class DeskBusy(LobbyError):
    """Another request already waits for the next read at this desk."""


class DeskReadTimeout(LobbyError):
    """No card was read at the desk while the request waited."""
