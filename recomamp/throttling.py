"""Limits on password guessing: `POST /api/auth/token/` and the admin login.

Both count attempts in the default cache, per client address and per username, so neither
one address trying many accounts nor many addresses trying one account gets far. Rates come
from settings (`RECOMAMP_LOGIN_RATE_PER_IP`, `RECOMAMP_LOGIN_RATE_PER_USERNAME`).
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny
from rest_framework.throttling import SimpleRateThrottle


def _username_key(scope: str, username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"throttle_{scope}_{digest}"


class LoginIpThrottle(SimpleRateThrottle):
    scope = "login_ip"

    def get_rate(self):
        return settings.RECOMAMP_LOGIN_RATE_PER_IP

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginUsernameThrottle(SimpleRateThrottle):
    scope = "login_username"

    def get_rate(self):
        return settings.RECOMAMP_LOGIN_RATE_PER_USERNAME

    def get_cache_key(self, request, view):
        username = request.data.get("username") if hasattr(request.data, "get") else None
        if not isinstance(username, str) or not username:
            return None  # refused as invalid input anyway
        return _username_key(self.scope, username)


class ThrottledObtainAuthToken(ObtainAuthToken):
    """Trade a username and password for an API token (throttled per address and username)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginIpThrottle, LoginUsernameThrottle]

    @extend_schema(operation_id="auth_token_create")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


obtain_auth_token = ThrottledObtainAuthToken.as_view()


# -- the admin login -------------------------------------------------------------------------


def _rate(rate: str) -> tuple[int, int]:
    count, period = rate.split("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
    return int(count), seconds


def _window_keys(request) -> list[tuple[str, int, int]]:
    """(cache key, limit, period) for the client's address and the username it tries."""
    keys = []
    ip_limit, ip_period = _rate(settings.RECOMAMP_LOGIN_RATE_PER_IP)
    address = LoginIpThrottle().get_ident(request)
    keys.append((f"admin_login_ip_{address}", ip_limit, ip_period))
    username = request.POST.get("username", "")
    if username:
        user_limit, user_period = _rate(settings.RECOMAMP_LOGIN_RATE_PER_USERNAME)
        keys.append((_username_key("admin_login", username), user_limit, user_period))
    return keys


def _retry_after(request) -> int | None:
    now = time.time()
    waits = []
    for key, limit, period in _window_keys(request):
        attempts = [t for t in cache.get(key, []) if t > now - period]
        if len(attempts) >= limit:
            waits.append(int(attempts[0] + period - now) + 1)
    return max(waits) if waits else None


def _record_failure(request) -> None:
    now = time.time()
    for key, limit, period in _window_keys(request):
        attempts = [t for t in cache.get(key, []) if t > now - period][-limit:]
        cache.set(key, [*attempts, now], period)


@never_cache
def admin_login(request, extra_context=None):
    """The admin's login page, refusing further tries (429) after too many failed ones."""
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    wait = _retry_after(request)
    if wait is not None:
        response = HttpResponse(
            "Too many failed sign-in attempts. Try again later.",
            status=429,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(wait)
        return response
    response = admin.site.login(request, extra_context)
    signed_in = response.status_code in (301, 302, 303) and request.user.is_authenticated
    if not signed_in:
        _record_failure(request)
    return response
