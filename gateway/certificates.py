"""Token-less certificate routes: anyone may read and verify a certificate.

- ``GET /certificates/{number}``: the credential by content negotiation:
  ``application/vc+jwt`` (as issued), JSON (the credential, its status and the JWT), or for
  a browser a plain, accessible HTML page with a QR code of its own URL (inline SVG: no
  script, no CDN, it works offline);
- ``POST /certificates/verify``: checks a presented credential (signature, dates, status)
  and says precisely why not;
- ``GET /certificates/jwks.json``: every credential key ever used;
- ``GET /certificates/status/{purpose}/{list}``: a Bitstring Status List credential.

They need no token, so each source address is rate-limited (an in-process token bucket:
per process, forgotten on restart; a deployment with many processes divides the limit among
them, or puts a shared limiter in front).
"""

from __future__ import annotations

import base64
import html
import json
import re
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import segno
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.db.actor import PUBLIC, bind_actor
from core.db.database import Database
from core.enums import CertificateStatus, LearningMethod, StatusPurpose
from core.errors import ErrorCode
from resolvers.certificates import keys, queries, status_list
from resolvers.certificates.credentials import MEDIA_TYPE, Issuer
from resolvers.certificates.legacy import with_credential
from resolvers.certificates.records import CertificateRecord
from resolvers.certificates.verification import verify_credential

_NUMBER = re.compile(r"^[A-Z0-9-]{6,40}$")
_MAX_CREDENTIAL = 64 * 1024
_OFFERED = ("text/html", MEDIA_TYPE, "application/json")
STATUS_LIST_CACHE = f"public, max-age={int(status_list.STATUS_LIST_TTL.total_seconds())}"
JWKS_CACHE = "public, max-age=300"


class TokenBuckets:
    """A token bucket per source address: ``rate`` a minute, bursts of a quarter of it."""

    def __init__(self, per_minute: int, *, max_addresses: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 4)
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, address: str) -> float:
        """0 when the request may go on, else the seconds until it may."""
        now = time.monotonic()
        tokens, since = self._buckets.pop(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - since) * self.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.rate
        self._buckets[address] = (tokens, now)
        if len(self._buckets) > self.max_addresses:
            self._buckets.popitem(last=False)  # the longest idle address goes first
        return wait


def _refusal(code: ErrorCode, message: str, status: int, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code.value}}]},
        status_code=status,
        headers=headers,
    )


def _limited(request: Request) -> Response | None:
    buckets: TokenBuckets = request.app.state.public_rate_limit
    address = request.client.host if request.client else "unknown"
    wait = buckets.take(address)
    if wait <= 0:
        return None
    return _refusal(
        ErrorCode.RATE_LIMITED,
        "too many requests from this address: retry later",
        429,
        **{"Retry-After": str(max(1, round(wait)))},
    )


def _issuer(request: Request) -> Issuer:
    issuer: Issuer = request.app.state.certificate_issuer
    return issuer


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def preferred(accept: str) -> str:
    """The offered media type the Accept header prefers (JSON when it says nothing)."""
    best, best_q = "application/json", 0.0
    for position, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        for offered in _OFFERED:
            if media in (offered, "application/vc") and q > best_q:
                best, best_q = (offered if media != "application/vc" else MEDIA_TYPE), q
            elif media == offered.split("/")[0] + "/*" and q > best_q:
                best, best_q = offered, q - 0.001 * position
    return best


def _public_session(request: Request) -> AsyncSession:
    """A session that reads as the public does: a certificate by its number (row-level
    security's ``PUBLIC`` actor, core/db/actor.py)."""
    session = _database(request).sessionmaker()
    bind_actor(session, PUBLIC)
    return session


async def certificate(request: Request) -> Response:
    if (refused := _limited(request)) is not None:
        return refused
    number = request.path_params["number"]
    if not _NUMBER.match(number):
        return _refusal(ErrorCode.CERTIFICATE_NOT_FOUND, "no such certificate", 404)
    issuer = _issuer(request)
    async with _public_session(request) as session:
        record = await queries.public_record(session, number)
        if record is None:
            return _refusal(ErrorCode.CERTIFICATE_NOT_FOUND, "no such certificate", 404)
        record = await with_credential(session, issuer, record)
        await session.commit()
    assert record.credential_jwt is not None
    vary = {"Vary": "Accept", "Cache-Control": "no-cache"}
    match preferred(request.headers.get("accept", "")):
        case "text/html":
            return HTMLResponse(_page(issuer, record, datetime.now(UTC)), headers=vary)
        case media if media == MEDIA_TYPE:
            return Response(record.credential_jwt, media_type=MEDIA_TYPE, headers=vary)
        case _:
            return JSONResponse(_summary(issuer, record), headers=vary)


def _credential_payload(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def _summary(issuer: Issuer, record: CertificateRecord) -> dict[str, Any]:
    assert record.credential_jwt is not None
    return {
        "number": record.number,
        "url": issuer.certificate_url(record.number),
        "status": record.status.value,
        "statusReason": record.status_reason,
        "course": {
            "code": record.course_code,
            "title": record.course_title,
            "hours": record.course_hours,
            "learningMethod": record.learning_method.value,
        },
        "provider": record.provider_name,
        "issuedAt": record.issued_at.isoformat(),
        "credential": _credential_payload(record.credential_jwt),
        "jwt": record.credential_jwt,
    }


# Dates on the page are the programme's: Western Indonesia Time (no DST, a fixed offset).
WIB = timezone(timedelta(hours=7), "WIB")
_MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_MONTHS_ID = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]
_MONTHS = (_MONTHS_EN, _MONTHS_ID)
_STATUS_TEXT = {
    CertificateStatus.VALID: ("\u2713 Valid", "Berlaku"),
    CertificateStatus.SUSPENDED: ("\u26a0 Suspended", "Ditangguhkan"),
    CertificateStatus.REVOKED: ("\u2717 Revoked", "Dicabut"),
}
_METHOD_TEXT = {
    LearningMethod.WEBINAR: "webinar",
    LearningMethod.SELF_PACED: "self-paced / mandiri",
    LearningMethod.OFFLINE: "in person / luring",
}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.5; color: #111; background: #fff; }
header p { margin: 0; font-size: 1.1rem; color: #333; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: .25rem 0 1.25rem; }
.status { padding: .75rem 1.25rem; border: 3px solid; border-radius: 6px; }
.status p { margin: .25rem 0; }
.status .state { font-size: 1.5rem; font-weight: bold; }
.VALID { color: #0a5c1f; background: #e9f6ed; }
.SUSPENDED { color: #5c3900; background: #fff4df; }
.REVOKED { color: #7a0000; background: #fdecec; }
.details { display: flex; flex-wrap: wrap; gap: 1rem 2.5rem; align-items: flex-start;
           margin-top: 1.5rem; }
dl { flex: 1 1 22rem; margin: 0; }
dt { font-weight: bold; } dd { margin: 0 0 .8rem 0; }
figure { flex: 0 0 auto; margin: 0; text-align: center; }
figure svg { display: block; margin: 0 auto; }
figcaption { font-size: .9rem; color: #333; max-width: 14rem; }
.url { overflow-wrap: anywhere; }
footer { margin-top: 2rem; border-top: 1px solid #bbb; padding-top: .75rem;
         font-size: .9rem; color: #333; }
a { color: #0645ad; }
@media print { body { margin: 0 auto; } a { color: #111; } }
"""


def _date(moment: datetime) -> str:
    """The day in Western Indonesia Time, in English and in Indonesian."""
    day = moment.astimezone(WIB)
    english, bahasa = (f"{day.day} {months[day.month - 1]} {day.year}" for months in _MONTHS)
    return english if english == bahasa else f"{english} / {bahasa}"


def _status_section(record: CertificateRecord, now: datetime) -> str:
    e = html.escape
    english, bahasa = _STATUS_TEXT[record.status]
    lines = [f'<p class="state">{english} / {bahasa}</p>']
    checked = f"{_date(now)}, {now.astimezone(WIB):%H:%M} WIB"
    reason = e(record.status_reason or "not given / tidak disebutkan")
    match record.status:
        case CertificateStatus.VALID:
            lines.append(
                "<p>The programme confirms this certificate. / Program Kartu Prakerja "
                "mengonfirmasi sertifikat ini.</p>"
            )
        case CertificateStatus.REVOKED:
            assert record.revoked_at is not None
            lines += [
                f"<p><strong>Revoked on / Dicabut pada:</strong> {_date(record.revoked_at)}</p>",
                f"<p><strong>Reason / Alasan:</strong> {reason}</p>",
                "<p>It is no longer proof of a completed training. / Sertifikat ini tidak "
                "berlaku lagi sebagai bukti pelatihan.</p>",
            ]
        case CertificateStatus.SUSPENDED:
            assert record.suspended_at is not None
            lines += [
                "<p><strong>Suspended on / Ditangguhkan pada:</strong> "
                f"{_date(record.suspended_at)}</p>",
                f"<p><strong>Reason / Alasan:</strong> {reason}</p>",
                "<p>Under review: do not rely on it until it is reinstated. / Sedang ditinjau: "
                "jangan dijadikan acuan sampai dipulihkan.</p>",
            ]
    lines.append(f"<p>Status as of / Status per: {checked}</p>")
    return "\n".join(lines)


def _page(issuer: Issuer, record: CertificateRecord, now: datetime) -> str:
    url = issuer.certificate_url(record.number)
    # A quiet zone of four modules and modules of 5 px: scannable from a screen or a print.
    qr = segno.make(url, error="m").svg_inline(
        scale=5, border=4, dark="#000", light="#fff", title=f"QR code of {url}"
    )
    e = html.escape
    hours = record.course_hours
    method = _METHOD_TEXT.get(record.learning_method, record.learning_method.value.lower())
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Certificate {e(record.number)}: {e(record.course_title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<header>
<p>Kartu Prakerja</p>
<h1>Certificate of completed training<br><span lang="id">Sertifikat pelatihan</span></h1>
</header>
<section class="status {record.status.value}" role="status" aria-label="Status">
{_status_section(record, now)}
</section>
<div class="details">
<dl>
<dt>Course / Pelatihan</dt><dd>{e(record.course_title)}<br>
{e(record.course_code)} &middot; {hours} hours / {hours} jam &middot; {e(method)}</dd>
<dt>Training provider / Lembaga pelatihan</dt><dd>{e(record.provider_name)}</dd>
<dt>Completed / Selesai</dt><dd><time datetime="{record.completed_at.isoformat()}">{
        _date(record.completed_at)
    }</time></dd>
<dt>Issued / Diterbitkan</dt><dd><time datetime="{record.issued_at.isoformat()}">{
        _date(record.issued_at)
    }</time></dd>
<dt>Certificate number / Nomor sertifikat</dt><dd>{e(record.number)}</dd>
<dt>Issuer / Penerbit</dt><dd>{e(issuer.profile()["name"])}</dd>
</dl>
<figure>
{qr}
<figcaption>Scan to open this page and see the current status. / Pindai untuk membuka
halaman ini dan melihat status terkini.</figcaption>
</figure>
</div>
<p class="url">This page / Halaman ini: <a href="{e(url)}">{e(url)}</a></p>
<p>The holder's name is not shown: the certificate names the participant only by a salted
hash of their Kartu Prakerja card number. / Nama pemegang tidak ditampilkan: sertifikat hanya
memuat hash kartu Prakerja pesertanya.</p>
<footer>
For software: the certificate is a W3C verifiable credential (Open Badges 3.0), signed with
the keys at <a href="{e(issuer.jwks_url)}">{e(issuer.jwks_url)}</a>; check it offline with
those keys and the status lists, or by <code>POST /certificates/verify</code>.
</footer>
</main>
</body>
</html>
"""


async def verify(request: Request) -> Response:
    if (refused := _limited(request)) is not None:
        return refused
    body = await request.body()
    if len(body) > _MAX_CREDENTIAL:
        return _refusal(ErrorCode.REQUEST_TOO_LARGE, "a credential is at most 64 KiB", 413)
    token: object = body.decode("utf-8", "replace")
    if not request.headers.get("content-type", "").startswith(MEDIA_TYPE):
        try:
            token = json.loads(body).get("credential")
        except (ValueError, AttributeError):
            token = None
    if not isinstance(token, str) or not token.strip():
        return _refusal(
            ErrorCode.BAD_USER_INPUT,
            'send {"credential": "<the JWT>"} as JSON, or the JWT as application/vc+jwt',
            400,
        )
    async with _public_session(request) as session:
        result = await verify_credential(session, _issuer(request), token, now=datetime.now(UTC))
    return JSONResponse(
        {
            "valid": result.valid,
            "code": result.code.value if result.code else None,
            "message": result.message,
            "number": result.number,
            "status": result.status.value if result.status else None,
            "reason": result.reason,
            "kid": result.kid,
        }
    )


async def jwks(request: Request) -> Response:
    if (refused := _limited(request)) is not None:
        return refused
    async with _public_session(request) as session:
        published = await keys.published_jwks(session)
    return JSONResponse(
        published,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": JWKS_CACHE},
    )


async def status(request: Request) -> Response:
    if (refused := _limited(request)) is not None:
        return refused
    try:
        purpose = StatusPurpose(request.path_params["purpose"])
    except ValueError:
        return _refusal(ErrorCode.NOT_FOUND, "the purposes are revocation and suspension", 404)
    number: int = request.path_params["list"]
    issuer = _issuer(request)
    async with _public_session(request) as session:
        key = await keys.signing_key(session, issuer.keys)
        signed = await status_list.signed_status_list(session, issuer, key, purpose, number)
        await session.commit()
    if signed is None:
        return _refusal(ErrorCode.NOT_FOUND, "no such status list", 404)
    return Response(signed, media_type=MEDIA_TYPE, headers={"Cache-Control": STATUS_LIST_CACHE})


routes = [
    Route("/certificates/jwks.json", jwks, methods=["GET"]),
    Route("/certificates/verify", verify, methods=["POST"]),
    Route("/certificates/status/{purpose}/{list:int}", status, methods=["GET"]),
    Route("/certificates/{number}", certificate, methods=["GET"]),
]
