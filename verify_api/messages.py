"""What the consumer reads, in Chinese (the default) and English."""

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("zh", "en")

TITLES = {
    "genuine_first_check": {"zh": "正品", "en": "Genuine"},
    "genuine_checked_before": {"zh": "正品", "en": "Genuine"},
    "suspect": {"zh": "可疑", "en": "Suspect"},
    "counterfeit": {"zh": "假冒", "en": "Counterfeit"},
    "unknown_batch": {"zh": "无效码", "en": "Not our code"},
    "revoked": {"zh": "已撤销", "en": "Revoked"},
    "not_activated": {"zh": "未激活", "en": "Not activated"},
    "malformed": {"zh": "无法识别", "en": "Not a valid code"},
}

TEXT = {
    "genuine_first_check": {
        "zh": "这是本码的第一次查询。",
        "en": "This is the first time this code has been checked.",
    },
    "genuine_checked_before": {
        "zh": "本码已被查询过，请确认是否为您本人所查。",
        "en": "This code has been checked before; make sure it was you.",
    },
    "too_often": {
        "zh": "本码被查询次数过多，可能已被复制到假货上。",
        "en": "This code has been checked too often: it may have been copied onto fakes.",
    },
    "far_apart": {
        "zh": "本码在相距很远的地方被查询，可能已被复制到假货上。",
        "en": "This code was checked in places too far apart: it may have been copied onto fakes.",
    },
    "clone": {
        "zh": "品牌方发现本码在多地被查询，可能已被复制到假货上。",
        "en": "The brand saw this code in too many places: it may have been copied onto fakes.",
    },
    "bad_signature": {
        "zh": "这个码不是品牌方发行的，商品很可能是假货。",
        "en": "This code was not issued by the brand: the item is most likely fake.",
    },
    "hidden_code_wrong": {
        "zh": "暗码不正确：可能是假货，也可能是输错了。请核对后再试。",
        "en": "The hidden code is wrong: a fake, or a typing mistake. Check it and try again.",
    },
    "unknown_batch": {
        "zh": "这个码从未发行过，商品很可能是假货。",
        "en": "This code was never issued: the item is most likely fake.",
    },
    "revoked": {
        "zh": "品牌方已撤销这批码：",
        "en": "The brand has revoked this batch of codes: ",
    },
    "not_activated": {
        "zh": "此码尚未激活，请勿购买，并向品牌方反映。",
        "en": "This code has not been activated yet: do not buy, and tell the brand.",
    },
    "typo": {
        "zh": "码有误，请检查是否输错（校验位不符）。",
        "en": "This code does not add up: check what you typed.",
    },
    "malformed": {
        "zh": "这不是有效的码，请检查输入。",
        "en": "This is not a valid code: check what you typed.",
    },
    "hidden_code_malformed": {
        "zh": "暗码是 12 位数字，请检查输入。",
        "en": "A hidden code has 12 digits: check what you typed.",
    },
    "hidden_ok": {"zh": "暗码正确，已完整验证。", "en": "Hidden code correct: fully verified."},
    "count": {"zh": "已查询 {n} 次", "en": "Checked {n} times"},
    "count_one": {"zh": "已查询 1 次", "en": "Checked once"},
    "first": {"zh": "首次查询：{date}", "en": "First check: {date}"},
    "place": {"zh": "，地点：{place}", "en": ", in {place}"},
    "hidden_prompt": {
        "zh": "刮开涂层，输入 12 位暗码，进行完整验证",
        "en": "Scratch the panel and enter the 12-digit hidden code for a full check",
    },
    "hidden_label": {"zh": "暗码", "en": "Hidden code"},
    "submit": {"zh": "验证", "en": "Check"},
    "share": {"zh": "分享我的位置", "en": "Share my location"},
    "share_why": {
        "zh": "可选：提供位置可让结果更准确。",
        "en": "Optional: your location makes the answer more precise.",
    },
    "share_failed": {"zh": "无法获取位置。", "en": "Could not get your location."},
    "throttled": {
        "zh": "暗码错误次数过多，请 {minutes} 分钟后再试。",
        "en": "Too many wrong hidden codes: try again in {minutes} minutes.",
    },
    "serial": {"zh": "序列号", "en": "Serial"},
    "page_title": {"zh": "真码验证", "en": "Zhenma verification"},
    "not_found": {"zh": "页面不存在。", "en": "There is no such page."},
    "error": {"zh": "出错了。", "en": "Something went wrong."},
}

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def t(key: str, lang: str, **values) -> str:
    text = TEXT[key][lang]
    return text.format(**values) if values else text


def title(verdict: str, lang: str) -> str:
    return TITLES[verdict][lang]


def verdict_text(verdict: str, reason: str | None, lang: str, detail: str | None = None) -> str:
    """The sentence under the verdict."""
    if verdict == "revoked":
        return t("revoked", lang) + (detail or "")
    if reason and reason in TEXT:
        return t(reason, lang)
    return t(verdict, lang) if verdict in TEXT else ""


def when(at: datetime, lang: str, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    if lang == "zh":
        return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
