"""govpub: the pipeline between an agency's approval system and its disclosure channels."""

__version__ = "0.1.0"
