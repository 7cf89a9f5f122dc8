"""Reading data out for business intelligence: a read-only reporting API and file exports.

Metadata only: no message text, no survey comment, no event details ever leave this way.
"""
