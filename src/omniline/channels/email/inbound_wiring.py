"""Registration of the email channel's inbound side (filled in by its owner)."""


def register() -> None:
    return None
