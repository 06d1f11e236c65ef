"""What the intake checks of an item's agency, before anything else of it.

The agency is the registry's (``unknown_agency`` 422 otherwise), still active
(``agency_retired`` 422), one the source is bound to (``agency_not_bound`` 403: a
source submits only for its agencies, and so takes only their 索引号 series), and an
explicit 索引号 is in that agency's series (``index_no_agency`` 422). The 发布机构 name
published is the registry's: a submitted name that differs is accepted, replaced and
reported in the receipt's ``warnings``, so a source's typo never reaches a column,
feed or archive package under a name that is not the agency's.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.agencies import Agency, Registry, UnknownAgency
from pipeline.bindings import AgencyRetired
from pipeline.errors import ValidationFailed
from pipeline.model import ItemIn
from pipeline.tenancy import OutOfReach, Reach


class IndexNoAgency(ValidationFailed):
    code = "index_no_agency"


@dataclass(frozen=True)
class AgencyChecked:
    """The item as it will be stored (the registry's name), its agency and the warnings
    its receipt carries."""

    item: ItemIn
    agency: Agency
    warnings: tuple[str, ...] = ()


def checked_agency(registry: Registry, reach: Reach, item: ItemIn) -> AgencyChecked:
    code = item.agency.code
    agency = registry.get(code)
    if agency is None:
        raise UnknownAgency("unknown agency", [f"agency.code: no agency {code} is registered"])
    if not reach.allows(code):
        bound = ", ".join(sorted(reach.agencies or ())) or "no agency"
        raise OutOfReach("agency not bound to this source", [f"agency.code: this source submits for {bound}"])
    if not agency.active:
        raise AgencyRetired("agency retired", [f"agency.code: {code} ({agency.name}) is retired"])
    if item.index_no and item.index_no.partition("/")[0] != code:
        raise IndexNoAgency(
            "index_no of another agency",
            [f"index_no: {item.index_no} is not in the series of {code} ({code}/YYYY-NNNNN)"],
        )
    if item.agency.name == agency.name:
        return AgencyChecked(item, agency)
    warning = f"agency.name: {item.agency.name!r} was submitted; published as the registry's {agency.name!r}"
    renamed = item.model_copy(update={"agency": item.agency.model_copy(update={"name": agency.name})})
    return AgencyChecked(renamed, agency, (warning,))
