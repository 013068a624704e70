"""Commission statements moved to the core's statement screens (portal.fees, /fees/): the old address answers with a
redirect there, for the people allowed to read statements (bookmarks, and the menu until it names the new page)."""

from django.shortcuts import redirect

from portal.fees.views import require_reader


def statement_list(request):
    require_reader(request)
    return redirect("fees:statement-list")
