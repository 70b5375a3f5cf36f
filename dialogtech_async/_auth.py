"""The APIs' credential schemes, each one small ``httpx.Auth`` (replaceable by the caller)."""

from __future__ import annotations

import os
from collections.abc import Generator

import httpx

from ._redact import basic_token, secret_forms


def from_env(value: str | None, variable: str) -> str | None:
    """A credential passed in, or else the environment's ``variable``."""
    return value if value is not None else os.environ.get(variable)


class SecretAuth(httpx.Auth):
    """An auth scheme that knows which of its values are secrets, to redact them."""

    def secrets(self) -> set[str]:
        """Every spelling of this scheme's secrets that could reach a log or a message."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ***>"


class LegacyKeyAuth(SecretAuth):
    """The legacy ``ibp_api.php``: ``access_key`` and ``secret_access_key`` in the query."""

    def __init__(self, access_key: str, secret_access_key: str) -> None:
        self._params = {"access_key": access_key, "secret_access_key": secret_access_key}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.url = request.url.copy_merge_params(self._params)
        yield request

    def secrets(self) -> set[str]:
        return secret_forms(self._params["secret_access_key"])


class DialogTechHeaderAuth(SecretAuth):
    """DialogTech's newest APIs: ``Authorization: <access_key>:<secret_access_key>``,
    plus ``x-api-key`` where the account has an API key."""

    def __init__(self, access_key: str, secret_access_key: str, api_key: str | None) -> None:
        self._authorization = f"{access_key}:{secret_access_key}"
        self._secret = secret_access_key
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._authorization
        if self._api_key is not None:
            request.headers["x-api-key"] = self._api_key
        yield request

    def secrets(self) -> set[str]:
        found = secret_forms(self._secret) | secret_forms(self._authorization)
        return found | (secret_forms(self._api_key) if self._api_key else set())


class InfinityBasicAuth(SecretAuth):
    """Infinity v2 with a user's name and password (HTTP Basic)."""

    def __init__(self, username: str, password: str) -> None:
        self._header = f"Basic {basic_token(username, password)}"
        self._password = password

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request

    def secrets(self) -> set[str]:
        return secret_forms(self._password) | secret_forms(self._header.split()[1])


class InfinityApiKeyAuth(SecretAuth):
    """Infinity with an API key: ``Authorization: ApiKey <key>``."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"ApiKey {self._api_key}"
        yield request

    def secrets(self) -> set[str]:
        return secret_forms(self._api_key)
