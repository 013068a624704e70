"""The lender's contact rules: set by its admin, only ever stricter than 08:00–21:00."""

import datetime

import pytest

from outsourcing.workbench.models import ContactPolicy
from tests.matrix_workbench import in_acme


@pytest.mark.django_db
def test_the_lender_admin_narrows_the_window_and_sets_the_cap(world, client_for):
    client = client_for("acme_admin", host="acme")
    assert 'value="08:00"' in client.get("/workbench/contact-rules/").content.decode()
    response = client.post(
        "/workbench/contact-rules/",
        {"window_start": "09:00", "window_end": "20:00", "daily_cap": "2", "time_zone": "Asia/Shanghai"},
        follow=True,
    )
    assert "Contact rules saved" in response.content.decode()
    with in_acme(world):
        policy = ContactPolicy.current()
        assert (policy.window_start, policy.window_end, policy.daily_cap_per_debtor) == (datetime.time(9), datetime.time(20), 2)
        assert policy.updated_by == world.people["acme_admin"].user


@pytest.mark.django_db
def test_a_wider_window_is_refused_with_the_reason(world, client_for):
    response = client_for("acme_admin", host="acme").post(
        "/workbench/contact-rules/", {"window_start": "07:00", "window_end": "21:00", "daily_cap": "3", "time_zone": "Asia/Shanghai"}
    )
    assert response.status_code == 200 and "only be made stricter" in response.content.decode()
    with in_acme(world):
        assert not ContactPolicy.objects.exists()


@pytest.mark.parametrize("persona", ["acme_manager", "x_admin", "x_collector"])
@pytest.mark.django_db
def test_only_the_lender_admin_sets_the_rules(persona, world, client_for):
    assert client_for(persona, host="acme").get("/workbench/contact-rules/").status_code == 403
