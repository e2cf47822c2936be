"""photoclip: a desktop photo organizer that understands pictures."""

__version__ = "0.1.0"
