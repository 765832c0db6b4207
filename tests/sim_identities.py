"""Synthetic customers for the device simulators, made with the HQ export generator (sync.synth).

The simulators never invent people: tests build them here and hand them in.
"""

from __future__ import annotations

from datetime import date

from drivers.sim.card import CardIdentity
from drivers.sim.identity import Identity, identity_from_export
from sync.synth import SynthOptions, generate


def synthetic_people(
    count: int = 20, seed: int = 1, region_code: str = "110105", as_of: date | None = None
) -> list[Identity]:
    """`count` synthetic customers as simulator identities."""
    opts = SynthOptions(
        customers=count, seed=seed, region_code=region_code, as_of=as_of or date.today()
    )
    return [identity_from_export(customer) for customer in generate(opts)]


def synthetic_card(seed: int = 1) -> CardIdentity:
    """The first UnionPay card (PAN 62...) among 50 synthetic customers, with its holder's ID."""
    for identity in synthetic_people(50, seed):
        if identity.pan is not None and identity.pan.startswith("62"):
            return CardIdentity.of(identity)
    raise LookupError("no card starting with 62 in the synthetic sample")
