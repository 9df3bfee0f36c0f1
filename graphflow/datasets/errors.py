"""The error the data set readers raise for a damaged or hostile file."""

__all__ = ["FormatError"]


class FormatError(ValueError):
    """A data file is damaged or not in the expected format."""
