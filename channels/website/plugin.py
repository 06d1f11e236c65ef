"""The website channel's declaration (``govpub.channels`` entry point ``website``): the
agency's disclosure column, counted as 政府网站 in the annual report, served under
``/site/`` when it renders a folder."""

from __future__ import annotations

from pathlib import Path

from pipeline.plugin import ChannelPlugin, DemoPart, DemoSetup, ReportRole, lazy


def _demo(setup: DemoSetup) -> DemoPart:
    from pipeline.config import ChannelConfig

    # the portal is a public link (printed for any configuration); the demo's columns here
    portal = f"  portal       {setup.public_url}/site/  (every agency's column, the latest list, search)"
    columns = [f"  column       {setup.public_url}/site/{p}/  ({name})" for _, name, p in setup.agencies]
    # the footer inspections ask for (sample numbers: all zeros); each department's column
    # names itself as 主办单位, the portal the district's office
    footer = {
        "organiser": "淄博市张店区人民政府办公室",
        "site_code": "3703030000",
        "icp": "鲁ICP备00000000号",
        "police": "鲁公网安备 37030302000000号",
    }
    website = ChannelConfig(kind="website", options={"footer": footer})
    own = {code: {"website": {"footer": {"organiser": name}}} for code, name, _ in setup.agencies}
    return DemoPart({"website": website}, (portal, *columns), overlays=own)


plugin = ChannelPlugin(
    kind="website",
    label="政府网站",
    report_role=ReportRole.PORTAL,
    channel=lazy("channels.website.channel:WebsiteChannel"),
    migrations=Path(__file__).with_name("migrations"),
    routes=lazy("channels.website.routes:router"),
    public_links={"政府信息公开专栏": "/site/"},
    cli=lazy("channels.website.cli:site"),
    sandbox=lazy("channels.website.cli:sandbox"),
    demo=_demo,
    pages_path="/site",
    served_paths=("/site",),
    default_options={},
)
