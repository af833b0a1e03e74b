"""The browser fixture itself: Debian's Chromium opens the product's pages."""

import pytest

from tests.fixtures.browser import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_logged_in_staff_user_sees_the_admin_index_in_chromium(
    login_page, live_server, django_user_model
):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    page = login_page(user)
    page.goto(f"{live_server.url}/admin/")
    assert page.locator("#site-name").inner_text() == "RecomAMP"
    assert "staff" in page.locator("#user-tools").inner_text().lower()
    assert screenshot(page, "admin-index").stat().st_size > 1000
    assert page.js_errors == []
