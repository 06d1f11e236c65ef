"""The channel contract as a test suite any channel can run, built-in or third-party
(as dramatiq ships its stub broker)::

    from channels.testing import ChannelContract, ContractSetup, accept_item, installation

    class TestNoticeboardContract(ChannelContract):
        @pytest.fixture
        def contract(self, tmp_path):
            with installation(tmp_path, {"board": {"kind": "noticeboard", "options": {...}}}) as services:
                yield ContractSetup(
                    channel=services.channel("board"),
                    services=services,
                    item=lambda n, **changes: accept_item(services, n, **changes),
                    copies=lambda item: ...,  # live copies the destination holds, or None
                )

- :mod:`channels.testing.contract`: the suite (idempotent publish per delivery,
  update, retract, health, check_options);
- :mod:`channels.testing.batches`: the suite of a channel that takes batches
  (``max_batch > 1``): batches answer and hold what one-by-one calls do, and a
  redelivered batch changes nothing;
- :mod:`channels.testing.items`: complete, approved example items, stored by the
  real store as the pipeline stores them;
- :mod:`channels.testing.installation`: a throwaway installation (SQLite, migrated)
  with the channels under test configured, built the way ``govpub serve`` builds it;
- :mod:`channels.testing.plugins`: what a plug-in declaration must hold.
"""

from channels.testing.batches import BatchContract
from channels.testing.contract import ChannelContract, ContractSetup
from channels.testing.installation import installation
from channels.testing.items import accept_item, example_item
from channels.testing.plugins import plugin_problems

__all__ = [
    "BatchContract",
    "ChannelContract",
    "ContractSetup",
    "accept_item",
    "example_item",
    "installation",
    "plugin_problems",
]
