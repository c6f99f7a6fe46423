"""Public verification: the lookup page, the QR page and its preview, and the JSON API.

Nothing here needs an account. Every lookup is rate limited per client address
(:mod:`verification.ratelimit`) and recorded (:func:`verification.services.lookup_record`).
An ID number never travels in a URL: the name + ID number lookup is a POST, on the page and in
the API alike.

JSON API — ``/api/v1/verify``
-----------------------------
By certificate number and name (no ID number, so a GET)::

    GET /api/v1/verify?cert_no=闽C052026000001&name=王小明

By name and ID number: a POST with a JSON (or form-encoded) body, so that the number stays out
of URLs, proxies' and servers' access logs and browser histories::

    POST /api/v1/verify
    Content-Type: application/json

    {"name": "王小明", "id_number": "350503198801011234"}

Both answer ``200`` with the same, masked, data as the pages::

    {"found": true, "certificates": [{"number": "闽C052026000001", "holder_name": "王**",
      "id_number": "3505**********1234", "trade": {"code": "05", "name": "…"},
      "authority": "泉州市住房和城乡建设局", "valid_from": "2026-01-05",
      "valid_until": "2028-01-04", "current_period_until": null,
      "status": {"code": "01", "label": "有效"}, "valid": true,
      "status_changed_on": null, "renewal_pending": false, "ecert_identifier": "1.2.156…"}]}

By the QR code (what ``/v/<token>/`` shows; the scanned address itself is accepted too), and
by an e-certificate file's SHA-256 (what upload-to-verify answers, without sending the file)::

    GET /api/v1/verify?token=Qx3…
    GET /api/v1/verify?sha256=9f86d08…

Given the scanned address, the answer adds whether it is this portal's: ``"address":
{"official": false, "site": "cert.example.gov.cn", "message": "中文说明"}`` (a counterfeit
certificate may carry a genuine token under a look-alike site). The digest's answer adds which
PDF version the file is: ``"pdf": {"version": 1,
"latest_version": 2, "is_current": false}`` (``null`` when nothing matches). One way per
request: ``token`` or ``sha256`` with any other field is ``conflicting_fields``.

Messages are in Chinese; a client that wants English sends the language switch's cookie,
``django_language=en`` (Accept-Language is not read, as on the pages). Nothing found and a
name that does not match give the same ``{"found": false,
"certificates": []}``. Errors: ``{"error": {"code": "…", "message": "中文说明"}}`` with ``400``
(``missing_fields``, ``invalid_id_number``, ``invalid_cert_no``, ``invalid_name``,
``invalid_token``, ``invalid_sha256``, ``conflicting_fields``, ``invalid_json``,
``id_number_in_url``, ``body_too_large``), ``405`` (``method_not_allowed``)
or ``429`` (``rate_limited``, with ``Retry-After`` and ``retry_after`` in seconds).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from certportal.caching import never_cache

from . import ratelimit, services
from .forms import (
    MAX_UPLOAD_BYTES,
    TOO_LARGE,
    NumberLookupForm,
    PersonLookupForm,
    UploadLookupForm,
)
from .models import LookupKind, LookupOutcome
from .preview import PREVIEW_SIZE, PreviewUnavailable, watermarked_preview
from .ratelimit import Verdict, client_address, rate_limited
from .selectors import certificate_by_token

# The pages are Jinja2 templates (jinja2/verification/), drawn by the "jinja2" engine:
# certportal/jinja.py says why.
PAGES = "jinja2"
VERIFY_TEMPLATE = "verification/verify.html"
QR_TEMPLATE = "verification/qr.html"
QR_NOT_FOUND_TEMPLATE = "verification/qr_not_found.html"
RATE_LIMITED_TEMPLATE = "verification/rate_limited.html"

# A multipart body carries the file plus boundaries and the other fields: allow for them.
MAX_UPLOAD_BODY = MAX_UPLOAD_BYTES + 64 * 1024
MAX_API_BODY = 4 * 1024
NOINDEX = "noindex, nofollow"


def checked_at() -> datetime:
    """The time a lookup answers for (shown on the pages; tests pin it)."""
    return timezone.localtime()


def _rate_text() -> str:
    """``每分钟最多查询 20 次``, from VERIFY_RATE_LIMIT."""
    limit, window = ratelimit.parse_rate(settings.VERIFY_RATE_LIMIT)
    per = {1: _("每秒"), 60: _("每分钟"), 3600: _("每小时")}[window]
    return _("%(per)s最多查询 %(limit)d 次") % {"per": per, "limit": limit}


def _record_refusal(request: HttpRequest, verdict: Verdict, kind: str | None) -> None:
    if kind is not None and verdict.first_refusal:
        services.lookup_record(
            address=client_address(request), kind=kind, outcome=LookupOutcome.RATE_LIMITED
        )


def _refusal_message(verdict: Verdict) -> str:
    return _("查询过于频繁，请在 %(seconds)d 秒后再试。") % {"seconds": verdict.retry_after}


def _page_refusal(kind_of):
    def respond(request: HttpRequest, verdict: Verdict) -> HttpResponse:
        _record_refusal(request, verdict, kind_of(request))
        again = timezone.localtime() + timedelta(seconds=verdict.retry_after)
        return render(
            request,
            RATE_LIMITED_TEMPLATE,
            {
                "retry_after": verdict.retry_after,
                "try_again_at": again,
                "rate_text": _rate_text(),
            },
            using=PAGES,
        )

    return respond


def _api_refusal(request: HttpRequest, verdict: Verdict) -> HttpResponse:
    _record_refusal(request, verdict, LookupKind.API)
    return _api_error(
        "rate_limited", _refusal_message(verdict), 429, retry_after=verdict.retry_after
    )


def _preview_refusal(request: HttpRequest, verdict: Verdict) -> HttpResponse:
    return HttpResponse(_refusal_message(verdict), content_type="text/plain; charset=utf-8")


# /verify/ -------------------------------------------------------------------------------


def _is_lookup(request: HttpRequest) -> bool:
    """A POST (name + ID number) or a GET carrying lookup fields; the bare page with its
    empty forms is not a lookup and costs nothing."""
    return request.method == "POST" or any(
        key in request.GET for key in ("cert_no", "name", "id_number")
    )


def _verify_kind(request: HttpRequest) -> str:
    return LookupKind.FORM if request.method == "POST" else LookupKind.CERT_NO


def _verify_page(request: HttpRequest, **context) -> HttpResponse:
    # A blank form is shown by its class: form_fields() draws it once per process.
    context.setdefault("person_form", PersonLookupForm)
    context.setdefault("number_form", NumberLookupForm)
    context.setdefault("upload_form", UploadLookupForm)
    context.setdefault("checked_at", checked_at())
    return render(request, VERIFY_TEMPLATE, context, using=PAGES)


# No CSRF check, as for the upload below and the API: the lookup changes nothing (beyond the
# lookup log and the address's rate limit) and shows nothing of the visitor's own, so a
# forged post gains nothing that the API would not give the forger directly, and another
# site cannot read the answer. Without a token to draw, the page (a QR scan's first visit
# above all) makes no CSRF secret and sets no cookie.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited(respond=_page_refusal(_verify_kind), applies=_is_lookup)
def verify(request: HttpRequest) -> HttpResponse:
    """The lookup page: name + ID number (POST), or certificate number + name (GET)."""
    address = client_address(request)
    if request.method == "POST":
        form = PersonLookupForm(request.POST)
        if not form.is_valid():
            services.lookup_record(
                address=address, kind=LookupKind.FORM, outcome=LookupOutcome.INVALID
            )
            return _verify_page(request, person_form=form)
        answer = services.verify_person(
            name=form.cleaned_data["name"],
            id_number=form.cleaned_data["id_number"],
            address=address,
            kind=LookupKind.FORM,
        )
        # A fresh form: the page that answers shows neither the name nor the number typed, so
        # a wrong name and an unknown number produce the very same page.
        return _verify_page(request, answer=answer)

    if "id_number" in request.GET:
        # Someone built a URL with an ID number in it. Never look it up (that would teach
        # people to send numbers in URLs) and never echo it: back to the clean address.
        services.lookup_record(address=address, kind=LookupKind.FORM, outcome=LookupOutcome.INVALID)
        messages.error(request, _("身份证号不能放在网址中。请在下面的表单中填写后查验。"))
        return redirect("verification:verify")
    if not _is_lookup(request):
        return _verify_page(request)
    form = NumberLookupForm(request.GET)
    if not form.is_valid():
        services.lookup_record(
            address=address, kind=LookupKind.CERT_NO, outcome=LookupOutcome.INVALID
        )
        return _verify_page(request, number_form=form)
    answer = services.verify_number(
        number=form.cleaned_data["cert_no"],
        name=form.cleaned_data["name"],
        address=address,
        kind=LookupKind.CERT_NO,
    )
    return _verify_page(request, number_form=form, answer=answer)


class _InMemoryOnly(MemoryFileUploadHandler):
    """Keep the upload in memory, always: it is hashed and dropped, never written to disk.
    (The stock handler steps aside above FILE_UPLOAD_MAX_MEMORY_SIZE; the size check above
    has already refused anything that large.)"""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.activated = True


def _upload_too_large(request: HttpRequest) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_UPLOAD_BODY
    except ValueError:
        return True


# Exempt from CSRF so that the body is parsed here, after the size check, and only into
# memory: the CSRF check would read the whole upload first (spilling a big one to a temporary
# file). Nothing is at stake: the view changes nothing and reads no session, and another site
# that made a browser post here could not read the answer.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@rate_limited(
    respond=_page_refusal(lambda request: LookupKind.UPLOAD),
    applies=lambda request: request.method == "POST",
)
def verify_upload(request: HttpRequest) -> HttpResponse:
    """Upload to verify: is this file byte for byte a PDF the portal issued?"""
    if request.method == "GET":
        return redirect("verification:verify")
    address = client_address(request)
    if _upload_too_large(request):
        services.lookup_record(
            address=address, kind=LookupKind.UPLOAD, outcome=LookupOutcome.INVALID
        )
        return _verify_page(request, upload_error=TOO_LARGE)
    request.upload_handlers = [_InMemoryOnly(request)]
    form = UploadLookupForm(request.POST, request.FILES)
    if not form.is_valid():
        services.lookup_record(
            address=address, kind=LookupKind.UPLOAD, outcome=LookupOutcome.INVALID
        )
        return _verify_page(request, upload_form=form)
    upload_answer = services.verify_upload(sha256=form.cleaned_data["sha256"], address=address)
    return _verify_page(request, upload_answer=upload_answer)


# /v/<token>/ ----------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET"])
@rate_limited(respond=_page_refusal(lambda request: LookupKind.QR))
def qr(request: HttpRequest, token: str) -> HttpResponse:
    """The page the certificate's QR code opens: its current status, for anyone."""
    answer = services.verify_token(token=token, address=client_address(request))
    if not answer.found:
        response = render(request, QR_NOT_FOUND_TEMPLATE, status=404, using=PAGES)
    else:
        response = render(
            request,
            QR_TEMPLATE,
            {
                "c": answer.certificates[0],
                "token": token,
                "checked_at": checked_at(),
                "site_host": urlsplit(settings.SITE_URL).netloc,
                "preview_size": PREVIEW_SIZE,
            },
            using=PAGES,
        )
    # Verification pages belong to whoever scanned the code, not to search engines.
    response["X-Robots-Tag"] = NOINDEX
    return response


@require_http_methods(["GET"])
@rate_limited(respond=_preview_refusal, bucket=ratelimit.PREVIEW)
def qr_preview(request: HttpRequest, token: str, fmt: str = "png") -> HttpResponse:
    """The current e-certificate as an image (PNG or WebP) watermarked 仅供查验 and the time
    of the request."""
    certificate = certificate_by_token(token)
    if certificate is None:
        raise Http404
    try:
        image = watermarked_preview(certificate, timezone.localtime(), fmt)
    except PreviewUnavailable as exc:
        raise Http404 from exc
    response = HttpResponse(image, content_type=f"image/{fmt}")
    # The watermark is good for the minute it names.
    response["Cache-Control"] = "private, max-age=60"
    response["X-Robots-Tag"] = NOINDEX
    return response


# /api/v1/verify -------------------------------------------------------------------------


def _api_error(code: str, message: str, status: int, **extra) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message, **extra}},
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )
    response["Cache-Control"] = "no-store"
    return response


class _ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


_FIELD_ERROR_CODES = {
    "id_number": "invalid_id_number",
    "cert_no": "invalid_cert_no",
    "name": "invalid_name",
}


def _api_input(request: HttpRequest) -> dict[str, str]:
    if request.method == "GET":
        if "id_number" in request.GET:
            raise _ApiError(
                "id_number_in_url",
                _(
                    "身份证号不能放在网址中（会留在日志和浏览记录里）："
                    "请用 POST 提交 name 和 id_number。"
                ),
            )
        return {key: request.GET[key] for key in _GET_KEYS if key in request.GET}
    if len(request.body) > MAX_API_BODY:
        raise _ApiError("body_too_large", _("请求内容过长。"))
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise _ApiError("invalid_json", _("请求内容不是有效的 JSON。")) from exc
        if not isinstance(data, dict):
            raise _ApiError("invalid_json", _("请求内容应为 JSON 对象。"))
    else:
        data = request.POST
    return {key: str(data.get(key) or "") for key in _POST_KEYS if key in data}


_GET_KEYS = ("cert_no", "name", "token", "sha256")
_POST_KEYS = ("cert_no", "name", "id_number", "token", "sha256")
# A QR token as ``certificates.models.new_qr_token`` makes them (URL-safe base64), and a
# SHA-256 digest in hexadecimal, as ``sha256sum`` prints it.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_SHA256_SHAPE = re.compile(r"[0-9A-Fa-f]{64}")


def _api_key_lookup(data: dict[str, str]) -> tuple[str, str] | None:
    """``("token", value)`` or ``("sha256", value)`` for a lookup by QR token or by file
    digest, ``None`` for the lookups by name. Either key alone: one lookup, one answer."""
    keys = [key for key in ("token", "sha256") if key in data]
    if not keys:
        return None
    key = keys[0]
    if len(keys) > 1 or any(v.strip() for k, v in data.items() if k != key):
        raise _ApiError(
            "conflicting_fields",
            _(
                "一次只能用一种方式查验：token（二维码）、sha256（证书文件摘要）、"
                "cert_no + name（证书编号）或 name + id_number（身份证号），四选一。"
            ),
        )
    value = data[key].strip()
    if key == "token":
        # A scanned QR code is a whole address: its token is what follows /v/.
        value = value.rstrip("/").rsplit("/v/", 1)[-1] if "/v/" in value else value
        if not _TOKEN_SHAPE.fullmatch(value):
            raise _ApiError(
                "invalid_token",
                _("token 格式不正确：应为证书二维码中的网址，或网址里 /v/ 之后的部分。"),
            )
    elif not _SHA256_SHAPE.fullmatch(value):
        raise _ApiError(
            "invalid_sha256",
            _("sha256 格式不正确：应为证书 PDF 文件的 SHA-256 摘要，64 位十六进制数字。"),
        )
    return key, value.lower() if key == "sha256" else value


def _api_form(data: dict[str, str]):
    if "id_number" in data:
        required, form_class = ("name", "id_number"), PersonLookupForm
    else:
        required, form_class = ("cert_no", "name"), NumberLookupForm
    missing = [key for key in required if not data.get(key, "").strip()]
    if missing:
        raise _ApiError(
            "missing_fields",
            _(
                "缺少字段：%(fields)s。按证书编号查验请提供 cert_no 和 name（GET），"
                "按身份证号查验请提供 name 和 id_number（POST）；"
                "也可只提供二维码的 token 或证书文件的 sha256。"
            )
            % {"fields": "、".join(missing)},
        )
    form = form_class(data)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        raise _ApiError(_FIELD_ERROR_CODES.get(field, "invalid"), errors[0])
    return form


# No CSRF check: the API changes nothing (beyond the lookup log) and authenticates no one — it
# reads no session (only the language cookie, for its messages) — so a cross-site request
# gains nothing it could not send itself, and it cannot read the answer. Requiring a token
# would only lock out other systems.
@csrf_exempt
@never_cache
def api_verify(request: HttpRequest) -> HttpResponse:
    """``/api/v1/verify``: the page lookups as JSON (see the module docstring)."""
    if request.method not in ("GET", "POST"):
        response = _api_error(
            "method_not_allowed", _("只支持 GET（按证书编号）和 POST（按身份证号）。"), 405
        )
        response["Allow"] = "GET, POST"
        return response
    return _api_lookup(request)


@rate_limited(respond=_api_refusal)
def _api_lookup(request: HttpRequest) -> HttpResponse:
    address = client_address(request)
    try:
        data = _api_input(request)
        by_key = _api_key_lookup(data)
        form = None if by_key else _api_form(data)
    except _ApiError as exc:
        services.lookup_record(address=address, kind=LookupKind.API, outcome=LookupOutcome.INVALID)
        return _api_error(exc.code, str(exc.message), 400)
    if by_key:
        key, value = by_key
        if key == "token":
            answer = services.verify_token(token=value, address=address, kind=LookupKind.API)
            scanned = scanned_site(data["token"], value)
            if scanned is not None:
                return _api_answer({**answer.as_json(), "address": scanned})
        else:
            answer = services.verify_upload(sha256=value, address=address, kind=LookupKind.API)
    elif isinstance(form, PersonLookupForm):
        answer = services.verify_person(
            name=form.cleaned_data["name"],
            id_number=form.cleaned_data["id_number"],
            address=address,
            kind=LookupKind.API,
        )
    else:
        answer = services.verify_number(
            number=form.cleaned_data["cert_no"],
            name=form.cleaned_data["name"],
            address=address,
            kind=LookupKind.API,
        )
    return _api_answer(answer.as_json())


def _api_answer(data: dict) -> JsonResponse:
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(parts) -> tuple[str, int | None] | None:
    """``(host, port)`` of an http(s) address, the port None when it is its scheme's default;
    None for anything a browser would not open as this portal's page (another scheme, a user
    part, a malformed port)."""
    try:
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return parts.hostname.lower(), None if port == _DEFAULT_PORTS[parts.scheme.lower()] else port


def scanned_site(scanned: str, token: str) -> dict | None:
    """For a scanned QR address (not a bare token): whether it is the address this portal
    prints in its QR codes, ``SITE_URL/v/<token>/``. A counterfeit certificate may carry a
    genuine token under a look-alike site, which shows its own page to whoever scans it; an
    inspector's system asking here is told so, to warn its user. Anything else than the
    portal's own address is flagged, so tricks a browser reads otherwise than a naive split
    (``https://evil.example?@portal/v/…``, ``#@``, a backslash, a user part) are flagged too.
    ``{"official": bool, "site": the portal's host, "message": …}``; None for a bare token."""
    scanned = scanned.strip()
    if "/v/" not in scanned:
        return None
    site = urlsplit(settings.SITE_URL)
    home = _origin(site)
    # Typed or pasted without its scheme, as a browser's address bar takes it.
    parts = urlsplit(scanned if "://" in scanned else f"https://{scanned.lstrip('/')}")
    official = (
        "\\" not in scanned
        and not parts.query
        and not parts.fragment
        and home is not None
        and _origin(parts) == home
        and parts.path.rstrip("/") == f"{site.path.rstrip('/')}/v/{token}"
    )
    shown = site.hostname or site.netloc
    if home is not None and home[1] is not None:
        shown = f"{shown}:{home[1]}"
    if official:
        return {"official": True, "site": shown, "message": ""}
    return {
        "official": False,
        "site": shown,
        "message": _(
            "二维码中的网址不是本平台（%(site)s）的证书查验网址：可能是仿冒证书的二维码。"
            "请以本平台的查验结果为准，并核对持证人本人。"
        )
        % {"site": shown},
    }
