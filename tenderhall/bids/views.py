"""The page where a bidder seals and submits a bid in the browser (docs/sealed-bids.md, "Sealing in the
browser"). The page only renders the form; the sealing runs in static/bids/seal.bundle.js, and what reaches
the server is the envelope, through ``POST /api/v1/bids/lots/{lot_id}/bids``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from tenderhall.accounts.models import User
from tenderhall.core.errors import NotFound
from tenderhall.procedures.models import Lot
from tenderhall.procedures.participation import bidder_entities
from tenderhall.procedures.selectors import access_tender_for_viewer


@login_required
def bid_seal_view(request: HttpRequest, lot_id: int) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)  # login_required
    lot = Lot.objects.filter(pk=lot_id).first()
    try:
        if lot is None:
            raise NotFound("no such lot")
        tender = access_tender_for_viewer(viewer=user, tender_id=lot.tender_id)
    except NotFound:
        return render(request, "404.html", status=404)
    api = "/api/v1/bids"
    return render(
        request,
        "bids/seal.html",
        {
            "tender": tender,
            "lot": lot,
            "entities": bidder_entities(user),
            "sealing_url": f"{api}/tenders/{tender.pk}/sealing",
            "submit_url": f"{api}/lots/{lot.pk}/envelopes",
            "receipt_url_template": f"{api}/bids/{{id}}/receipt",
            "tender_url": reverse("portal:tender_detail", args=[tender.pk]),
        },
    )
