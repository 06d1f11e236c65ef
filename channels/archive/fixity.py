"""Does each item's metadata still describe its payload?

A bag's manifests only say that the files are the ones the manifests were made for;
anyone can change a page and recompute every manifest and the Payload-Oxum. What was
fixed when the package was made is the DA/T 48 metadata beside each item: the SM3,
SHA-256 and size of every file (``数字摘要``, ``计算机文件大小``) and the item's identity
(``索引号``, ``电子文件号``, ``在线存址``, the ``文件标识符`` of each business action),
which must name the folder the item sits in (``data/<索引号>/``). This module reads
those facts and holds them against the payload as it is.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from channels.archive import eep

ACTIONS = {"metadata.xml": "publish", "retraction.xml": "retract"}
NS = {"e": eep.NS}
DIGESTS = {"SM3": "sm3", "SHA-256": "sha256"}  # 数字摘要's 算法 → manifest algorithm


@dataclass(frozen=True)
class Document:
    """One file as the metadata describes it (``计算机文件名`` is relative to the folder)."""

    name: str
    size: str | None
    digests: dict[str, str]  # manifest algorithm → hex digest


@dataclass(frozen=True)
class Described:
    """What one ``metadata.xml`` or ``retraction.xml`` says about its item."""

    path: str  # data/<索引号>/metadata.xml
    folder: str  # the 索引号 the folder names
    action: str  # publish | retract
    identity: list[tuple[str, str, str]]  # (element, value found, value the folder implies)
    title: str | None = None
    revision: str | None = None
    count: str | None = None  # 件数
    documents: list[Document] = field(default_factory=list)

    def payload_path(self, document: Document) -> str:
        return posixpath.normpath(f"data/{self.folder}/{document.name}")


def describe(path: str, data: bytes) -> Described | None:
    """The facts of one metadata file at ``path`` (None when it is not XML: the schema
    check reports that)."""
    try:
        doc = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    folder = posixpath.dirname(path).removeprefix("data/")
    entity = doc.find(".//e:文件实体", NS)
    identity = [
        ("电子文件号", _text(entity, "e:电子文件号"), folder),
        ("索引号", _text(entity, "e:内容描述/e:索引号"), folder),
        ("在线存址", _text(entity, "e:存储位置/e:在线存址"), f"data/{folder}/"),
        *(("文件标识符", node.text or "", folder) for node in doc.iterfind(".//e:业务实体/e:文件标识符", NS)),
    ]
    return Described(
        path=path,
        folder=folder,
        action=ACTIONS[posixpath.basename(path)],
        identity=identity,
        title=_text(entity, "e:内容描述/e:题名") or None,
        revision=_text(entity, "e:内容描述/e:版本号") or None,
        count=_text(entity, "e:形式特征/e:件数") or None,
        documents=[_document(code) for code in doc.iterfind(".//e:文件实体/e:文档/e:文档数据/e:编码", NS)],
    )


def _text(node: Any, path: str) -> str:
    return "" if node is None else (node.findtext(path, default="", namespaces=NS) or "").strip()


def _document(code: Any) -> Document:
    digests = {
        DIGESTS[node.get("算法")]: (node.text or "").strip().lower()
        for node in code.iterfind("e:数字摘要", NS)
        if node.get("算法") in DIGESTS
    }
    return Document(
        name=_text(code, "e:电子属性/e:计算机文件名"),
        size=_text(code, "e:电子属性/e:计算机文件大小") or None,
        digests=digests,
    )


Problem = Callable[[str, str], None]


def check(
    described: list[Described],
    digests: Mapping[str, Mapping[str, str]],
    sizes: Mapping[str, int],
    add: Problem,
) -> None:
    """Every metadata file against the payload: identity, then each file it describes
    (present, size, SM3 and SHA-256), then payload files no metadata describes."""
    covered = {d.path for d in described}
    for item in described:
        _identity(item, add)
        if item.count is not None and item.count != str(len(item.documents)):
            add(item.path, f"件数 {item.count} but it describes {len(item.documents)} files")
        for document in item.documents:
            covered.add(_document_matches(item, document, digests, sizes, add))
    for extra in sorted(set(sizes) - covered):
        add(extra, "in the payload but described by no metadata.xml")


def _identity(item: Described, add: Problem) -> None:
    for element, found, wanted in item.identity:
        if not found:
            add(item.path, f"{element} is missing")
        elif found != wanted:
            add(item.path, f"{element} {found} is not the item's folder data/{item.folder}/")


def _document_matches(
    item: Described,
    document: Document,
    digests: Mapping[str, Mapping[str, str]],
    sizes: Mapping[str, int],
    add: Problem,
) -> str:
    where = item.payload_path(document)
    if where not in sizes:
        add(where, f"described in {item.path} but missing from the payload")
        return where
    if document.size != str(sizes[where]):
        add(where, f"size {sizes[where]} but {item.path} records 计算机文件大小 {document.size}")
    for label, alg in DIGESTS.items():
        recorded = document.digests.get(alg)
        if recorded is None:
            add(item.path, f"has no {label} 数字摘要 for {document.name}")
        elif recorded != digests[where][alg]:
            add(where, f"{label} differs from the 数字摘要 in {item.path} (changed after it was packaged)")
    return where
