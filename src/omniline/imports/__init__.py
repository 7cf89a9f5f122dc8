"""Loading history from other systems: per-call records of a call centre (``omniline import``)."""
