"""Errors a user can be shown, apart from bugs."""


class PhotoclipError(Exception):
    """A failure with a message meant for the user."""


class ModelUnavailableError(PhotoclipError):
    """The model's weights cannot be downloaded or loaded."""


class LibraryVersionError(PhotoclipError):
    """The library was written by a newer photoclip."""


class ImageError(PhotoclipError):
    """One file cannot be used as a photo; the message is the reason."""


class ReadError(ImageError):
    """One file could not be read just now (an I/O error, a busy file, gone during a move): worth
    trying again later, unlike a file that is not an image or is damaged."""


class StorageError(PhotoclipError):
    """The library cannot be written (disk full, read-only, ...). ``failure`` says which, when
    known (a ``catalog.SqliteFailure``)."""

    def __init__(self, message: str, failure: object = None) -> None:
        super().__init__(message)
        self.failure = failure


class Cancelled(Exception):
    """A job was cancelled by the user."""
