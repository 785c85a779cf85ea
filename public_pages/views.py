"""Public pages: the home page, the directory of sending organisations (HTML and JSON), the
statistics, and the not-found answer.

No login, no personal data. Views only read: `public_pages.directory` and `public_pages.statistics` select.
"""

from __future__ import annotations

import mimetypes

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.http import require_GET

from ebox.status_message import status_message
from public_pages import charts, directory
from public_pages.statistics import statistics_summary
from senders.models import Organisation

LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


@require_GET
def home(request):
    return render(request, "ebox/home.html", {"organisation_count": Organisation.objects.count()})


def not_found(request, exception=None):
    """404: under /api/ the API's StatusMessage (clients parse JSON), elsewhere the accessible page."""
    if request.path.startswith("/api/"):
        return JsonResponse(status_message(404, f"no API operation at {request.path}"), status=404)
    return defaults.page_not_found(request, exception)


def _filtered(request):
    """The bound filter form and, when valid, the matching entries."""
    form = directory.DirectoryFilter(request.GET)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    entries = directory.search_organisations(
        q=data["q"], category=data["category"], region=data["region"], language=get_language()
    )
    return form, entries


@require_GET
def organisations(request):
    form, entries = _filtered(request)
    if entries is None:
        return render(request, "public/organisations.html", {"form": form, "page": None}, status=400)
    page = Paginator(entries, directory.PAGE_SIZE).get_page(form.cleaned_data["page"])
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "public/organisations.html",
        {
            "form": form,
            "page": page,
            "filtered": any(form.cleaned_data[k] for k in ("q", "category", "region")),
            "query": query.urlencode(),
        },
    )


@require_GET
def organisations_json(request):
    """The directory as JSON, with the same filters; paginated (`page`, `page_size` up to 500)."""
    form, entries = _filtered(request)
    if entries is None:
        return _cors(JsonResponse({"errors": form.errors.get_json_data()}, status=400))
    size = form.cleaned_data["page_size"] or 100
    paginator = Paginator(entries, size)
    number = form.cleaned_data["page"] or 1
    if number > paginator.num_pages:
        message = _("There is no page %(page)s: the last page is %(last)s.") % {
            "page": number,
            "last": paginator.num_pages,
        }
        return _cors(JsonResponse({"errors": {"page": [{"message": message, "code": "invalid_page"}]}}, status=404))
    page = paginator.page(number)

    def link(n: int | None) -> str | None:
        if n is None:
            return None
        query = request.GET.copy()
        query["page"] = str(n)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return _cors(
        JsonResponse(
            {
                "count": paginator.count,
                "page": number,
                "pageSize": size,
                "pages": paginator.num_pages,
                "next": link(page.next_page_number() if page.has_next() else None),
                "previous": link(page.previous_page_number() if page.has_previous() else None),
                "results": [directory.as_json(entry, request.build_absolute_uri) for entry in page],
            },
            json_dumps_params={"ensure_ascii": False},
        )
    )


def _cors(response):
    # Open data: any site may read the directory from a browser.
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
def organisation_logo(request, enterprise_number: str):
    organisation = get_object_or_404(Organisation, enterprise_number=enterprise_number)
    content_type = mimetypes.guess_type(organisation.logo.name)[0] if organisation.logo else None
    if content_type not in LOGO_TYPES:
        raise Http404("no logo")
    try:
        handle = organisation.logo.open("rb")
    except FileNotFoundError:
        raise Http404("no logo")
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _month_label(row: dict) -> str:
    return date_format(row["month"], "M Y")


@require_GET
def statistics(request):
    summary = statistics_summary()
    monthly = summary["monthly"]

    def points(rows, label, key, decimals=None):
        return [
            charts.Point(
                label=label(r), value=float(r[key]), display=number_format(r[key], decimals, force_grouping=True)
            )
            for r in rows
        ]

    by_year = summary["organisations_by_year"]
    context = {
        "summary": summary,
        "monthly": monthly,
        "organisations_by_year": by_year,
        "users_chart": charts.line_chart(points(monthly, _month_label, "users"), "chart-users-caption"),
        "organisations_chart": charts.line_chart(
            points(by_year, lambda r: str(r["year"]), "organisations"), "chart-organisations-caption"
        ),
        "messages_chart": charts.bar_chart(points(monthly, _month_label, "messages"), "chart-messages-caption"),
        "paper_chart": charts.bar_chart(points(monthly, _month_label, "letters_avoided"), "chart-paper-caption"),
        "first_month": monthly[0]["month"] if monthly else None,
    }
    return render(request, "public/statistics.html", context)
