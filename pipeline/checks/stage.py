"""The check stage: runs at intake, on the request, before the revision is stored.

Why at intake: the decision (which deliveries are ``held``) is written in the same
transaction as the revision, so no worker can ever claim a delivery the checks would
have held, and there is no second queue to lose. The checks are linear in the text
(the text read once and joined; one Aho–Corasick pass per lexicon over it, one
regular expression for personal information;
bench/checks.py measures a 2 MB body); the links check waits for the network, within
``links_budget_seconds`` per item. One item's checks hold only its own request.
A check that crashes loses nothing: the item is stored and
held on every holding channel with a ``stage`` finding naming the error, for an
operator to look at and release.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog

from pipeline.checks import lexicon, links, personal
from pipeline.checks.extract import Corpus, parse_body, pieces
from pipeline.checks.findings import NOTHING, Finding, Outcome
from pipeline.config import AgencyChecks, ChecksSettings
from pipeline.model import ItemIn
from pipeline.outbound import Policy

log = structlog.get_logger("govpub.checks")


class Stage:
    def __init__(
        self,
        settings: ChecksSettings,
        policy: Policy | None = None,
        agencies: Mapping[str, AgencyChecks] | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or Policy()
        self.agencies = dict(agencies or {})
        # loaded (and refused, with the file named) when the stage is made
        self.lexicons = [lexicon.load(path) for path in settings.lexicons]
        self.agency_lexicons = {
            code: [lexicon.load(path) for path in own.lexicons] for code, own in self.agencies.items()
        }

    @property
    def active(self) -> bool:
        return bool(self.settings.enabled)

    def findings(self, item: ItemIn) -> list[Finding]:
        try:
            texts = Corpus(pieces(item, parse_body(item.body_html)))  # read once, for every check
            found: list[Finding] = []
            if "personal" in self.settings.enabled:
                found.extend(personal.check(texts, self.settings.personal))
            if "expressions" in self.settings.enabled:
                own = self.agency_lexicons.get(item.agency.code, [])
                found.extend(lexicon.check(texts, [*self.lexicons, *own]))
            if "links" in self.settings.enabled:
                budget = self.settings.links_budget_seconds
                found.extend(links.check(item.body_html, self.policy, budget, self.settings.links))
            return found
        except Exception as exc:  # a broken attachment or a bug: the item is kept and held
            log.exception("check crashed", source=item.source, item=item.id, revision=item.revision)
            return [Finding("stage", "hold", "-", f"check crashed: {type(exc).__name__}: {exc}"[:500])]

    def run(self, item: ItemIn, channels: Mapping[str, bool]) -> Outcome:
        """The findings on ``item`` and the wanted channels they hold."""
        if not self.active:
            return NOTHING
        found = self.findings(item)
        if not any(f.severity == "hold" for f in found):
            return Outcome(tuple(found))
        agency = self.agencies.get(item.agency.code)
        actions = {**self.settings.channels, **(agency.channels if agency else {})}
        held = {name for name, wanted in channels.items() if wanted and actions.get(name, "hold") == "hold"}
        return Outcome(tuple(found), frozenset(held))
