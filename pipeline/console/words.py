"""What the console calls things, in plain Chinese words for operators."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pipeline import registry

STATES = {
    "pending": "待发送",
    "queued": "已排队",
    "sending": "发送中",
    "retrying": "等待重试",
    "waiting": "等待中（窗口或对方结果，不是失败）",
    "unconfirmed": "已发出，待确认",
    "delivered": "已送达",
    "in_doubt": "待核实（需操作员确认或重发）",
    "dead": "失败待处理",
    "skipped": "已跳过",
    "retracted": "已撤回",
    "held": "待审（检查发现问题，需操作员放行或来源修改）",
}
# the filter's extra choice: everything an operator may have to act on (waiting is no
# failure; a held delivery waits for an operator's release or the source's new revision)
FAILING = ("retrying", "held", "in_doubt", "dead")

OUTCOMES = {
    "delivered": "送达",
    "retry": "失败，将自动重试",
    "dead": "失败，不再自动重试",
    "skipped": "跳过",
    "waiting": "等待发送窗口或确认（不计失败次数）",
    "sent": "已发出，等待对方确认结果（计为已到达）",
    "in_doubt": "结果不明：可能已发布，需操作员核实",
    "operator_confirm": "操作员核实：已在渠道上",
    "operator_resubmit": "操作员核实：不在渠道上，重新提交",
    "lost": "工作进程失联（租约过期），已重新认领",
    "operator_retry": "操作员要求立即重试",
    "operator_skip": "操作员跳过",
    "operator_release": "操作员放行（检查发现的问题已核实）",
}

ACTIONS = {"publish": "发布", "retract": "撤回"}

AUDIT = {
    "login": "登录控制台",
    "logout": "退出控制台",
    "retry": "立即重试",
    "skip": "跳过投递",
    "retract": "撤回信息",
    "login_failed": "密码错误",
    "login_locked": "登录被锁定",
    "login_unlocked": "解除登录限制",
    "confirm": "核实为已发布",
    "resubmit": "核实为未发布，重新提交",
    "broadcast_now": "立即群发",
    "release": "放行待审投递",
}

ROLES = {"operator": "操作员", "auditor": "审计员", "admin": "平台管理员"}

ERRORS = {
    "TransientError": "暂时性故障（网络中断、对方服务繁忙等），系统会按退避策略自动重试。",
    "RateLimited": "对方限流或额度用尽，系统会在额度恢复后自动重试。",
    "NotDue": "尚未到发送窗口（如每日群发时间），到时自动发送。",
    "AwaitingConfirmation": "渠道已受理，正在等待对方确认结果。",
    "PermanentError": "永久性错误：重试无法自行解决，需要操作员按下面的提示处理后“立即重试”，或“跳过”。",
    "InDoubt": "已提交但应答丢失，系统无法自行查明是否已发布：请按提示到渠道后台核实，"
    "已发布的“确认已发布”（填写链接），未发布的“重新提交”。自动重试可能造成重复发布，故不自动重试。",
}
UNKNOWN_ERROR = "未归类的错误，按暂时性故障处理并自动重试；多次出现请联系运维人员。"

# external reference keys, in the order and with the names operators know
REF_LABELS = {
    "url": "页面",
    "page_url": "网站页面",
    "article_url": "公众号文章",
    "publish_id": "发布任务号",
    "msg_id": "群发消息号",
    "media_id": "草稿 media_id",
    "entry_id": "订阅条目",
    "package_id": "归档包",
    "package_url": "归档包下载",
    "checksum": "校验值",
    "record": "记录",
    "index_no": "索引号",
}


def state(value: str) -> str:
    return STATES.get(value, value)


def error_explained(error_class: str | None) -> str:
    if not error_class:
        return ""
    return ERRORS.get(error_class, UNKNOWN_ERROR)


def kind(value: str) -> str:
    """A channel kind as its plug-in calls it (a kind no longer installed: its name)."""
    return registry.label(value)


def ref_links(ref: dict[str, Any] | None) -> list[dict[str, str]]:
    """An external reference as label / text / link rows; only http(s) values become links."""
    if not ref:
        return []
    rows = []
    for key in sorted(ref, key=lambda k: (list(REF_LABELS).index(k) if k in REF_LABELS else 99, k)):
        value = ref[key]
        if isinstance(value, dict | list):
            continue
        text = str(value)
        href = text if urlsplit(text).scheme in ("http", "https") else ""
        rows.append({"label": REF_LABELS.get(key, key), "text": text, "href": href})
    return rows
