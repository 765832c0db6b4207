"""The guest page a phone opens from a ticket's QR code: Chinese first, English one tap away.

One response with no external assets: its style and script are inline and allowed by their
SHA-256 in the Content-Security-Policy (default-src 'self'), so no other inline code runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Any

from branch_hub.lobby.guest import GuestView

__all__ = ["HEADERS", "expired_page", "ticket_page", "words_for"]

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "排队进度",
        "ticket": "您的排队号码",
        "ahead": "前面还有 {n} 人等候",
        "waiting": "请留意叫号",
        "next": "即将叫号，请到等候区",
        "called": "请到 {n} 号窗口办理",
        "called_any": "请到窗口办理",
        "done": "业务已办结，感谢光临",
        "expired": "该号已过号或取消，如需办理请重新取号",
        "other": "English",
        "gone": "该排队凭证已失效",
        "gone_more": "请在大堂取号机重新取号，或咨询大堂经理。",
    },
    "en": {
        "title": "Queue progress",
        "ticket": "Your ticket number",
        "ahead": "{n} people ahead of you",
        "waiting": "Please listen for your number",
        "next": "You are next: please stay in the waiting area",
        "called": "Please go to counter {n}",
        "called_any": "Please go to the counter",
        "done": "Served. Thank you for visiting",
        "expired": "This ticket was missed or cancelled; please take a new one",
        "other": "中文",
        "gone": "This ticket link is no longer valid",
        "gone_more": "Please take a new ticket at the kiosk or ask the lobby manager.",
    },
}

STYLE = (
    "body{margin:0;font:18px/1.5 system-ui,sans-serif;background:#f4f6f8;color:#1b1f24}"
    "main{max-width:30em;margin:0 auto;padding:1em}"
    "nav{text-align:right}nav a{color:#0b57d0;font-size:1em;padding:.6em;display:inline-block}"
    ".card{background:#fff;border-radius:12px;padding:1.2em;text-align:center}"
    "#number{font-size:4.5em;font-weight:700;letter-spacing:.05em;margin:0}"
    "#status{font-size:1.4em;font-weight:700;color:#0b57d0}"
    ".called #status{color:#b3261e}.muted{color:#4a525c}"
)

SCRIPT = (
    "(function(){var W=@WORDS@,L=document.documentElement.lang==='en'?'en':'zh',w=W[L];"
    "function t(s,n){return s.replace('{n}',n)}"
    "function show(v){var st=v.state,el=document.getElementById('status');"
    "document.body.className=st;"
    "el.textContent=st==='called'?(v.counter?t(w.called,v.counter):w.called_any):w[st];"
    "document.getElementById('ahead').textContent=st==='waiting'?t(w.ahead,v.ahead):'';"
    "document.getElementById('wait').textContent=st==='waiting'?v.wait[L]:''}"
    "var base=location.pathname;"
    "if(window.EventSource){var es=new EventSource(base+'/events');"
    "es.onmessage=function(e){show(JSON.parse(e.data));document.body.dataset.live='1'}}"
    "else{setInterval(function(){fetch(base+'/state').then(function(r){"
    "if(r.ok)r.json().then(show)})},5000)}})();"
).replace("@WORDS@", json.dumps(WORDS, ensure_ascii=False))


def _sha(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'self'; script-src 'sha256-{_sha(SCRIPT)}'; "
        f"style-src 'sha256-{_sha(STYLE)}'; img-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def words_for(lang: str) -> dict[str, str]:
    """The page's words in `lang` ("zh" unless "en")."""
    return WORDS["en" if lang == "en" else "zh"]


def _status(view: GuestView, w: dict[str, str]) -> str:
    if view.state == "called":
        return w["called"].format(n=view.counter) if view.counter else w["called_any"]
    return w[view.state.value]


def _page(lang: str, body: str, script: bool, state: str = "expired") -> str:
    w = words_for(lang)
    html_lang = "en" if lang == "en" else "zh-CN"
    js = f"<script>{SCRIPT}</script>" if script else ""
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<meta name="referrer" content="no-referrer"><title>{w["title"]}</title>'
        f'<style>{STYLE}</style></head><body class="{state}">{body}{js}</body></html>'
    )


def ticket_page(view: GuestView, lang: str) -> str:
    """The ticket's page as it is now; its script keeps it live."""
    w = words_for(lang)
    wire: dict[str, Any] = view.to_wire()
    waiting = view.state == "waiting"
    other = "zh" if lang == "en" else "en"
    key = "en" if lang == "en" else "zh"
    service = wire["service"][key]
    body = (
        f'<main><nav><a id="lang" href="?lang={other}">{w["other"]}</a></nav>'
        f'<div class="card"><p class="muted">{w["ticket"]}</p>'
        f'<p id="number">{escape(view.number)}</p><p id="service">{escape(service)}</p>'
        f'<p id="status">{escape(_status(view, w))}</p>'
        f'<p id="ahead">{w["ahead"].format(n=view.ahead) if waiting else ""}</p>'
        f'<p id="wait" class="muted">{wire["wait"][key] if waiting else ""}</p>'
        "</div></main>"
    )
    return _page(lang, body, script=True, state=view.state.value)


def expired_page() -> str:
    """The one answer to every pass that opens nothing (forged, unknown, another day's)."""
    zh, en = WORDS["zh"], WORDS["en"]
    body = (
        f'<main><div class="card"><p id="status">{zh["gone"]}</p><p>{zh["gone_more"]}</p>'
        f'<p lang="en" class="muted">{en["gone"]}. {en["gone_more"]}</p></div></main>'
    )
    return _page("zh", body, script=False)
