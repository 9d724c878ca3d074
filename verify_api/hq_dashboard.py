"""HQ's dashboard (``/hq/``): alerts, diverted scans by province, per-distributor figures.

Server-side HTML, login required (``hq_session.page``): no script at all, the chart
is an inline SVG drawn here, styles are inline, so the Content-Security-Policy
allows nothing from anywhere. Admins acknowledge and resolve alerts with a form.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, redirect, render_template, request, url_for
from markupsafe import Markup, escape

from alerts import queries
from zhenma.errors import ZhenmaError

from . import hq_alerts, hq_common, hq_session
from .errors import ApiError, language
from .hq_auth import current

bp = Blueprint("hq_dashboard", __name__, url_prefix="/hq")
hq_common.install(bp)

BAR, GAP, LABEL, WIDTH = 22, 6, 170, 640


def chart(rows: list[dict], lang: str) -> Markup:
    """A horizontal bar chart as inline SVG: one bar per province, longest first."""
    if not rows:
        return Markup("")
    top = max(r["scans"] for r in rows)
    height = len(rows) * (BAR + GAP)
    span = WIDTH - LABEL - 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart" role="img" width="{WIDTH}"'
        f' height="{height}" viewBox="0 0 {WIDTH} {height}">'
    ]
    for i, r in enumerate(rows):
        y = i * (BAR + GAP)
        w = max(2, round(span * r["scans"] / top))
        name = escape(r["name_zh"] if lang == "zh" else r["name_en"])
        parts.append(
            f'<g class="bar" data-area="{escape(r["area"])}"><title>{name}: {r["scans"]}</title>'
            f'<text x="{LABEL - 8}" y="{y + BAR * 0.7:.0f}" text-anchor="end"'
            f' font-size="13">{name}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{w}" height="{BAR}" fill="#c0262d"/>'
            f'<text x="{LABEL + w + 6}" y="{y + BAR * 0.7:.0f}" font-size="13">{r["scans"]}</text>'
            "</g>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  (every text in it is escaped above)


@bp.get("/")
@hq_session.page("viewer")
def dashboard():
    lang = language()
    try:
        f = hq_alerts.filters()
    except (ApiError, ZhenmaError):  # a bad filter in the address bar: show everything
        f = queries.Filters()
    parts = hq_common.parts()
    levels = parts.settings.distributor_levels
    with parts.db.session() as s:
        alerts = [queries.describe(s, a, levels) for a in queries.listing(s, f, 200)]
        counts = queries.counts(s, f)
    p = current()
    zone = ZoneInfo(parts.settings.display_tz)

    def local(stamp: str | None) -> str:
        """An ISO time as HQ reads it: in ZHENMA_DISPLAY_TZ, to the minute."""
        return (
            datetime.fromisoformat(stamp).astimezone(zone).strftime("%Y-%m-%d %H:%M")
            if stamp
            else ""
        )

    return render_template(
        "hq_dashboard.html",
        lang=lang,
        user=p.name.removeprefix("user "),
        role=p.role,
        admin=p.role == "admin",
        alerts=alerts,
        counts=counts,
        chart=chart(counts["diverted_scans_by_area"], lang),
        csrf=hq_session.csrf(),
        local=local,
        args=request.args,
        csv_url=url_for("hq_alerts.alert_csv", **request.args),
    )


@bp.post("/alerts/<int:alert_id>/<any(acknowledge, resolve):action>")
@hq_session.page("admin")
def act(alert_id: int, action: str):
    note = request.form.get("note", "").strip() or None
    hq_alerts.act(alert_id, action, note)
    return redirect(url_for("hq_dashboard.dashboard", **request.args) + f"#alert-{alert_id}")
