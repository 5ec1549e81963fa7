"""A channel's "Send test" button in headless chromium: a staff user with the notifications
permissions sends a signed test to a webhook receiver on loopback and sees how it went, sent or
refused by the receiver."""

import pytest
from django.contrib.admin.utils import quote

from notifications import services
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, _logged_in_page, scrolls_sideways
from tests.notifications.conftest import running_receiver

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver(settings):
    # The receiver listens on 127.0.0.1, which the egress guard refuses outside tests.
    settings.NOTIFICATIONS_ALLOW_PRIVATE_TARGETS = True
    settings.NOTIFICATIONS_HTTP_TIMEOUT = 2
    with running_receiver() as state:
        yield state


@pytest.fixture
def operator(django_user_model):
    """A staff user (not a superuser) with the notifications app's permissions."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(
        username="operator", password=PASSWORD, is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="notifications"))
    return user


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_send_test_shows_what_happened(
    viewport, browser, live_server, operator, receiver, screenshot
):
    channel = services.channel_create(name="ops hook", kind="webhook", target=receiver.url())
    receiver.secrets["/hook"] = channel.secret
    context, page = _logged_in_page(browser, live_server, operator, viewport)
    try:
        page.goto(f"/admin/notifications/channel/{quote(channel.pk)}/change/")
        page.click("#ops-action-send_test")
        page.locator(".messagelist .success").wait_for()
        assert page.inner_text(".messagelist") == "Test sent to “ops hook”."
        (received,) = receiver.requests
        assert received.signature_ok is True
        if viewport == PHONE:
            assert not scrolls_sideways(page)
        screenshot(page, "sent")

        # The receiver refuses the next one: the page says so, in red, with its status.
        receiver.respond(503, 503, 503)
        page.click("#ops-action-send_test")
        page.locator(".messagelist .error").wait_for()
        message = page.inner_text(".messagelist .error")
        assert message.startswith("Test to “ops hook” "), message
        assert "503" in message
        assert page.locator(".messagelist .success").count() == 0
        screenshot(page, "refused")
    finally:
        context.close()
