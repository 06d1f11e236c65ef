"""The annual report as data: what ``--format json`` prints and ``GET /v1/reports/{year}``
answers, and what every renderer reads. Counts come from the delivery log; the
operator's figures are carried as checked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from pipeline.report.figures import Figures
from pipeline.report.scope import Role


class ChannelCount(BaseModel):
    """Items first delivered to one channel instance in the year, by local month."""

    channel: str
    kind: str = Field(description="the channel kind its deliveries were made for")
    label: str = Field(
        description="what the kind is called (its plug-in's label; a kind no longer installed: its name)"
    )
    role: Role
    items: int
    monthly: list[int] = Field(description="items per month, January first")


class CategoryCount(BaseModel):
    category: str
    subcategory: str | None
    items: int


class RoleTotals(BaseModel):
    """Distinct items per role: an item on two portal instances counts once."""

    portal: int = Field(0, description="政府网站")
    other: int = Field(0, description="其他渠道")
    deposit: int = Field(0, description="档案馆、图书馆")


class LateItem(BaseModel):
    index_no: str
    title: str
    generated_on: date
    published_on: date
    workdays: int
    at_least: bool = Field(False, description="formed before the calendar used: workdays is a lower bound")


class Timeliness(BaseModel):
    limit_workdays: int
    published: int
    late: int
    average_workdays: float | None
    max_workdays: int | None
    late_items: list[LateItem]
    assumed_years: list[int] = Field(description="years without an official calendar: Mon–Fri assumed")


class Retraction(BaseModel):
    index_no: str
    title: str
    retracted_at: datetime
    reason: str
    first_delivered_at: datetime | None


class Retractions(BaseModel):
    count: int
    items: list[Retraction]


class DocumentRow(BaseModel):
    """A 第二十条第（一）项 row of table 二, counted from the items."""

    key: str
    label: str
    issued: int
    repealed: int
    in_force: int
    last_year_in_force: int | None
    last_year_source: str = Field(description="figures (last year's report) or log")


class Uninterpreted(BaseModel):
    """A 规范性文件 first on the website in the year that no 政策解读 interprets."""

    index_no: str
    title: str
    published_on: date = Field(description="first published by the portal role (local date)")


class LogOutcome(BaseModel):
    channel: str
    outcome: str
    events: int


class Counts(BaseModel):
    """Everything the delivery log says about the year."""

    channels: list[ChannelCount]
    totals: RoleTotals
    categories: list[CategoryCount]
    timeliness: Timeliness
    retractions: Retractions
    documents: list[DocumentRow]
    log: list[LogOutcome]
    uninterpreted: list[Uninterpreted] = Field(
        default_factory=list,
        description="this year's 规范性文件 without an interpretation (政策解读): "
        "inspections ask for both, linked",
    )


class AnnualReport(BaseModel):
    year: int
    agency_code: str | None
    agency_name: str
    timezone: str
    generated_at: datetime
    counts: Counts
    figures: Figures
    figures_source: str | None = Field(description="the figures file used, or None (tables 三/四 zero)")
    narrative: str = Field(description="the counts in the words of the older reports")
    warnings: list[str]

    def category_totals(self) -> list[tuple[str, int]]:
        totals: dict[str, int] = {}
        for row in self.counts.categories:
            totals[row.category] = totals.get(row.category, 0) + row.items
        return list(totals.items())

    def channels_of(self, role: Role) -> list[ChannelCount]:
        return [c for c in self.counts.channels if c.role == role]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class PublicTimeliness(BaseModel):
    limit_workdays: int
    published: int
    late: int
    average_workdays: float | None
    max_workdays: int | None


class PublicCounts(BaseModel):
    """The statutory figures: counts only, no item named."""

    channels: list[ChannelCount]
    totals: RoleTotals
    categories: list[CategoryCount]
    timeliness: PublicTimeliness
    retractions: int = Field(description="items withdrawn in the year")
    documents: list[DocumentRow]


class PublicReport(BaseModel):
    """What ``GET /v1/reports/{year}`` answers without a login: the annual report's
    statutory figures. Titles, withdrawal reasons, the delivery log and the warnings
    are for operators and auditors (and a source, for its own items)."""

    year: int
    agency_code: str | None
    agency_name: str
    timezone: str
    generated_at: datetime
    counts: PublicCounts
    figures: Figures
    narrative: str

    @classmethod
    def of(cls, report: AnnualReport) -> PublicReport:
        counts = report.counts
        return cls(
            **report.model_dump(include={"year", "agency_code", "agency_name", "timezone", "generated_at"}),
            figures=report.figures,
            narrative=report.narrative,
            counts=PublicCounts(
                channels=counts.channels,
                totals=counts.totals,
                categories=counts.categories,
                timeliness=PublicTimeliness(
                    **counts.timeliness.model_dump(exclude={"late_items", "assumed_years"})
                ),
                retractions=counts.retractions.count,
                documents=counts.documents,
            ),
        )
