"""The website channel (static disclosure column or CMS push); see :mod:`.channel`."""

from channels.website.channel import WebsiteChannel

__all__ = ["WebsiteChannel"]
