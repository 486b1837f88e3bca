"""The workspace's search box: a results panel in the list pane (htmx fragment)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from conversations.search import MIN_QUERY_CHARS, search_for_agent, search_query_clean


@require_GET
@login_required
def search(request: HttpRequest) -> HttpResponse:
    typed = request.GET.get("q", "").strip()
    q = search_query_clean(typed)
    results = search_for_agent(user=request.user, q=q) if q else []
    return render(
        request,
        "console/_search_results.html",
        {
            "q": q,
            "too_short": bool(typed) and not q,
            "min_chars": MIN_QUERY_CHARS,
            "results": results,
        },
    )
