"""Errors a user can be shown, apart from bugs."""


class PhotoclipError(Exception):
    """A failure with a message meant for the user."""


class ModelUnavailableError(PhotoclipError):
    """The model's weights cannot be downloaded or loaded."""


class LibraryVersionError(PhotoclipError):
    """The library was written by a newer photoclip."""


class ImageError(PhotoclipError):
    """One file cannot be used as a photo; the message is the reason."""


class StorageError(PhotoclipError):
    """The library cannot be written (disk full, read-only, ...)."""


class Cancelled(Exception):
    """A job was cancelled by the user."""
