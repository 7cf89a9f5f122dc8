"""Registration of the email channel's outbound side (filled in by its owner)."""


def register() -> None:
    return None
