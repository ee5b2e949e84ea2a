"""A Graph client for delta tests, shared by test_delta_users.py and test_delta_groups.py."""

from __future__ import annotations

import requests


class Client:
    """Mints a fresh token per call: the tests move the simulated clock by days."""

    def __init__(self, server, app_id: str | None = None):
        self.server = server
        self.app_id = app_id or server.client_id
        self.http = requests.Session()
        self.http.trust_env = False

    def get(self, url: str, headers: dict | None = None, params: dict | None = None) -> requests.Response:
        token = self.server.app.extensions["entrasim"].tokens.issue(self.app_id)[0]
        if not url.startswith("http"):
            url = f"{self.server.graph_url}{url}"
        return self.http.get(url, params=params, headers={"Authorization": f"Bearer {token}", **(headers or {})})

    def round(self, url: str, headers: dict | None = None, params: dict | None = None) -> tuple[list[dict], str]:
        """Follow nextLinks to the deltaLink: (every page's body, the deltaLink)."""
        resource = "groups" if "/groups/" in url else "users"
        pages = []
        response = self.get(url, headers, params)
        while True:
            assert response.status_code == 200, response.text
            body = response.json()
            pages.append(body)
            if "@odata.deltaLink" in body:
                assert "@odata.nextLink" not in body
                return pages, body["@odata.deltaLink"]
            assert body["@odata.nextLink"].startswith(f"{self.server.graph_url}/{resource}/delta?$skiptoken=")
            response = self.get(body["@odata.nextLink"], headers)
