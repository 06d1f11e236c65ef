"""The metadata of one archived item as a DA/T 48 electronic file package (EEP).

``电子文件封装包`` in the namespace of DA/T 48-2009 holds the catalogue entry of the
item (文件实体), its approval record and delivery history as business actions
(业务实体: the three checks, the sign-off, intake, each channel) and the agents
behind them (机构人员实体). A new revision or a retraction is a 修改型 package that
names the package it amends. ``eep.xsd`` beside this module is the schema; every
file written here is valid against it, and ``govpub archive verify`` checks that.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from lxml import etree

from channels.archive.page import PayloadFile, local_time
from pipeline.model import CHECK_LABELS, Published

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
SCHEMA_PATH = Path(__file__).with_name("eep.xsd")
FORMAT = "本封装包依据中华人民共和国档案行业标准DA/T 48-2009《基于XML的电子文件封装规范》生成"
STORED = "计算机文件保存在本BagIt包载荷中，按相对路径引用，不作Base64内嵌"


@dataclass(frozen=True)
class Stored:
    """A payload file as written: what the metadata says about it."""

    file: PayloadFile
    size: int
    sha256: str
    sm3: str


@dataclass(frozen=True)
class Envelope:
    """Facts of the package that every item's metadata repeats."""

    creator: str  # 封装包创建单位: the receiver's source organisation
    created_at: datetime  # the period end: fixed, so re-exports are identical
    tz: ZoneInfo
    url: str  # the item's public page


@cache
def _qualified(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _el(parent: Any, tag: str, text: object = None, **attrs: str) -> Any:
    node = (
        etree.SubElement(parent, _qualified(tag), attrs)
        if attrs
        else etree.SubElement(parent, _qualified(tag))
    )
    if text is not None:
        node.text = text if isinstance(text, str) else str(text)
    return node


def publication(item: Published, stored: list[Stored], snapshot: dict[str, Any], env: Envelope) -> bytes:
    previous = snapshot.get("previous_package")
    amend = ("新版本", previous, f"第 {item.revision} 版替代此前报送的版本") if previous else None
    root, content = _package(env, amend)
    entity = _file_entity(content, item, env)
    _el(_el(entity, "存储位置"), "在线存址", f"data/{item.index_no}/")
    rights = _el(entity, "权限管理")
    _el(rights, "公开方式", "主动公开")
    _el(rights, "控制标识", "开放")
    for n, file in enumerate(stored, start=1):
        _document(entity, n, file)
    _form(entity, len(stored))
    actions = _actions(content, item, env)
    for record in snapshot.get("history", []):
        at = datetime.fromisoformat(record["at"]) if record.get("at") else None
        detail = f"状态 {record['state']}" + (f"；{record['ref']}" if record.get("ref") else "")
        actions.add("SYS", f"发布至渠道 {record['channel']}", at, "", detail)
    _agents(content, item)
    return _serialise(root)


def retraction(item: Published, snapshot: dict[str, Any], env: Envelope) -> bytes:
    reason = snapshot.get("reason") or ""
    root, content = _package(env, ("撤回", snapshot.get("previous_package"), reason))
    entity = _file_entity(content, item, env)
    _el(_el(entity, "存储位置"), "在线存址", f"data/{item.index_no}/")
    rights = _el(entity, "权限管理")
    _el(rights, "公开方式", "主动公开（已撤回）")
    _el(rights, "控制标识", "撤回")
    _form(entity, 0)
    actions = _actions(content, item, env)
    at = datetime.fromisoformat(snapshot["retracted_at"]) if snapshot.get("retracted_at") else None
    actions.add("SYS", "撤回", at, "", reason)
    _agents(content, item)
    return _serialise(root)


def _package(env: Envelope, amend: tuple[str, str | None, str] | None) -> tuple[Any, Any]:
    root = etree.Element(f"{{{NS}}}电子文件封装包", nsmap={None: NS})
    _el(root, "封装包格式描述", FORMAT)
    _el(root, "版本", "2009")
    signed = _el(root, "被签名对象", **{"eep版本": "2009"})
    _el(signed, "封装包类型", "修改型" if amend else "原始型")
    described = "对此前报送的电子文件的修改记录" if amend else "主动公开政府信息的原始封装"
    _el(signed, "封装包类型描述", described)
    _el(signed, "封装包创建时间", local_time(env.created_at, env.tz))
    _el(signed, "封装包创建单位", env.creator)
    if amend:
        kind, previous, reason = amend
        note = _el(signed, "修改说明")
        _el(note, "修改类型", kind)
        if previous:
            _el(note, "原封装包标识", previous)
        _el(note, "修改原因", reason)
    return root, _el(signed, "封装内容")


def _file_entity(content: Any, item: Published, env: Envelope) -> Any:
    entity = _el(_el(content, "文件实体块"), "文件实体")
    _el(entity, "聚合层次", "件")
    source = _el(entity, "来源")
    _el(source, "获取方式", "主动公开报送")
    _el(source, "源系统", item.source or "govpub")
    _el(source, "源文件标识符", f"{item.source}/{item.id}")
    _el(entity, "电子文件号", item.index_no)
    desc = _el(entity, "内容描述")
    _el(desc, "题名", item.title)
    for word in item.keywords:
        _el(desc, "主题词", word)
    if item.summary:
        _el(desc, "摘要", item.summary)
    _el(desc, "责任者", item.agency.name)
    _el(desc, "责任者代码", item.agency.code)
    _el(desc, "日期", item.generated_on.isoformat())
    if item.doc_no:
        _el(desc, "文件编号", item.doc_no)
    _el(desc, "索引号", item.index_no)
    _el(desc, "主题分类", item.category)
    for tag, value in (("主题子类", item.subcategory), ("体裁", item.genre), ("有效性", item.validity)):
        if value:
            _el(desc, tag, value)
    _el(desc, "发布日期", local_time(item.accepted_at, env.tz))
    _el(desc, "版本号", item.revision)
    _el(desc, "在线地址", env.url)
    return entity


def _form(entity: Any, count: int) -> None:
    """形式特征 goes after 内容描述: insert it there once the documents are counted."""
    form = etree.Element(f"{{{NS}}}形式特征")
    _el(form, "文件组合类型", "组合文件" if count > 1 else "单件")
    _el(form, "件数", count)
    entity.find(f"{{{NS}}}内容描述").addnext(form)


def _document(entity: Any, n: int, stored: Stored) -> None:
    doc = _el(entity, "文档")
    _el(doc, "文档标识符", f"D{n}")
    _el(doc, "文档序号", n)
    _el(doc, "文档主从声明", stored.file.role)
    _el(doc, "题名", stored.file.title)
    data = _el(doc, "文档数据", **{"文档数据ID": f"D{n}-1"})
    code = _el(data, "编码", **{"编码ID": f"D{n}-1-E1"})
    props = _el(code, "电子属性")
    _el(props, "格式信息", stored.file.media_type)
    _el(props, "计算机文件名", stored.file.path)
    _el(props, "计算机文件大小", stored.size)
    _el(code, "数字摘要", stored.sm3, **{"算法": "SM3"})
    _el(code, "数字摘要", stored.sha256, **{"算法": "SHA-256"})
    _el(code, "编码描述", STORED)


class _Actions:
    def __init__(self, block: Any, item: Published, env: Envelope) -> None:
        self.block, self.item, self.env, self.count = block, item, env, 0

    def add(self, agent: str, action: str, at: datetime | None, basis: str, detail: str) -> None:
        self.count += 1
        node = _el(self.block, "业务实体")
        _el(node, "业务标识符", f"B{self.count}")
        _el(node, "机构人员标识符", agent)
        _el(node, "文件标识符", self.item.index_no)
        _el(node, "业务状态", "历史行为")
        _el(node, "业务行为", action)
        if at is not None:
            _el(node, "行为时间", local_time(at, self.env.tz))
        _el(node, "行为依据", basis)
        _el(node, "行为描述", detail)


def _actions(content: Any, item: Published, env: Envelope) -> _Actions:
    """The approval record (一事一审查、先审查、后公开) and the intake."""
    actions = _Actions(_el(content, "业务实体块"), item, env)
    approval = item.approval
    basis = f"审批表 {approval.form_no}"
    for n, check in enumerate(approval.checks, start=1):
        result = "通过" if check.result == "pass" else "未通过"
        actions.add(
            f"R{n}",
            CHECK_LABELS[check.kind],
            check.at,
            basis,
            result + (f"；{check.note}" if check.note else ""),
        )
    if approval.approver is not None:
        actions.add("A1", "审批签发", approval.approver.at, basis, approval.approver.role)
    actions.add("SYS", "接收", item.accepted_at, basis, f"第 {item.revision} 版")
    return actions


def _agents(content: Any, item: Published) -> None:
    block = _el(content, "机构人员实体块")

    def agent(ident: str, kind: str, name: str, code: str | None = None, post: str | None = None) -> None:
        node = _el(block, "机构人员实体")
        _el(node, "机构人员标识符", ident)
        _el(node, "机构人员类型", kind)
        _el(node, "机构人员名称", name)
        if code:
            _el(node, "组织机构代码", code)
        if post:
            _el(node, "个人职位", post)

    agent("ORG", "单位", item.agency.name, item.agency.code)
    for n, check in enumerate(item.approval.checks, start=1):
        agent(f"R{n}", "个人", check.reviewer, post=CHECK_LABELS[check.kind])
    approver = item.approval.approver
    if approver is not None:
        agent("A1", "个人", approver.name or approver.role, post=approver.role)
    agent("SYS", "系统", "govpub 主动公开发布系统")


def _serialise(root: Any) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


@cache
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))


_validating = threading.Lock()  # a validator's error log is shared state


def problems(data: bytes) -> list[str]:
    """Why this metadata file is not a valid package (empty when it is)."""
    try:
        doc = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    with _validating:
        validator = schema()
        if validator.validate(doc):
            return []
        return [f"line {e.line}: {e.message}" for e in validator.error_log]
