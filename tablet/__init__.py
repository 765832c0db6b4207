"""The staff app for tablets and counter PCs: live arrivals, customer briefs, calling, outcomes."""

__all__: list[str] = []
