"""Paging and counting: ``$top``, ``$skip``, ``@odata.nextLink`` with ``$skiptoken``, ``$count`` and ``/$count``."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from simulator.graph.paging import EXTENSION_KEY, CursorStore

from msal_tokens import msal_token

EVENTUAL = {"ConsistencyLevel": "eventual"}


@pytest.fixture
def directory(graph_server):
    """250 users; a group with the first 30 of them and one nested group."""
    server = graph_server()
    tenant = server.tenant
    users = [tenant.create_user(userPrincipalName=f"user{i:03}@{tenant.primary_domain}", givenName=f"User{i:03}",
                                surname="Pager") for i in range(250)]
    nested = tenant.create_group(displayName="Nested", members=[users[200].id])
    group = tenant.create_group(displayName="Thirty", members=[u.id for u in users[:30]] + [nested.id])
    session = requests.Session()
    session.trust_env = False
    session.verify = server.ca
    session.headers["Authorization"] = f"Bearer {msal_token(server)}"
    return server, session, users, group


def follow(session: requests.Session, url: str, **kwargs) -> list[dict]:
    """Every page, following @odata.nextLink verbatim; returns the page bodies."""
    pages = []
    while url:
        response = session.get(url, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        url = body.get("@odata.nextLink")
        kwargs.pop("params", None)  # the nextLink carries the query
    return pages


def error_of(response: requests.Response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if message is not None:
        assert error["message"] == message
    return error


@pytest.mark.parametrize("top", ["1000", "0", "-1", "abc", "12.5", ""])
def test_page_size_out_of_range(directory, top):
    server, s, _users, group = directory
    for path in ("/users", "/groups", f"/groups/{group.id}/members"):
        error_of(s.get(f"{server.graph_url}{path}", params={"$top": top}), 400, "Request_UnsupportedQuery",
                 f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.")


def test_skip_is_not_supported(directory):
    server, s, _users, group = directory
    for path in ("/users", f"/groups/{group.id}/transitiveMembers"):
        error_of(s.get(f"{server.graph_url}{path}", params={"$skip": "10"}), 400, "Request_BadRequest",
                 "'$skip' is not supported by the service.")


def test_default_page_size_is_100(directory):
    server, s, users, _group = directory
    pages = follow(s, f"{server.graph_url}/users")
    assert [len(p["value"]) for p in pages] == [100, 100, 50]
    assert [u["id"] for p in pages for u in p["value"]] == [u.id for u in users]


def test_next_link_is_absolute_and_keeps_the_query(directory):
    server, s, users, _group = directory
    first = s.get(f"{server.graph_url}/users", params={"$top": "7", "$select": "id,displayName"}).json()
    link = first["@odata.nextLink"]
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{server.graph_url}/users"
    query = parse_qs(parts.query)
    assert query["$top"] == ["7"] and query["$select"] == ["id,displayName"] and len(query["$skiptoken"]) == 1
    assert first["@odata.context"].endswith("#users(id,displayName)")
    pages = follow(s, f"{server.graph_url}/users", params={"$top": "7", "$select": "id,displayName"})
    assert len(pages) == 36 and "@odata.nextLink" not in pages[-1]
    ids = [u["id"] for p in pages for u in p["value"]]
    assert ids == [u.id for u in users]
    assert all(set(u) == {"id", "displayName"} for p in pages for u in p["value"])
    tokens = [parse_qs(urlsplit(p["@odata.nextLink"]).query)["$skiptoken"][0] for p in pages[:-1]]
    assert len(set(tokens)) == len(tokens)


def test_following_the_same_next_link_twice_gives_the_same_page(directory):
    server, s, _users, _group = directory
    link = s.get(f"{server.graph_url}/users", params={"$top": "40"}).json()["@odata.nextLink"]
    once, twice = s.get(link).json(), s.get(link).json()
    assert [u["id"] for u in once["value"]] == [u["id"] for u in twice["value"]]
    assert once["@odata.nextLink"] == twice["@odata.nextLink"]


def test_members_page_through_with_a_small_top(directory):
    server, s, users, group = directory
    pages = follow(s, f"{server.graph_url}/groups/{group.id}/members", params={"$top": "8"})
    assert [len(p["value"]) for p in pages] == [8, 8, 8, 7]
    items = [(m["@odata.type"], m["id"]) for p in pages for m in p["value"]]
    assert items[:30] == [("#microsoft.graph.user", u.id) for u in users[:30]]
    assert items[30][0] == "#microsoft.graph.group"
    nested = follow(s, f"{server.graph_url}/groups/{group.id}/transitiveMembers/microsoft.graph.user",
                    params={"$top": "16"})
    assert [u["id"] for p in nested for u in p["value"]] == [u.id for u in users[:30]] + [users[200].id]


def test_users_deleted_between_pages_are_not_served(directory):
    server, s, users, _group = directory
    first = s.get(f"{server.graph_url}/users", params={"$top": "100"}).json()
    server.tenant.soft_delete_user(users[150].id)
    server.tenant.purge_user(users[160].id)
    rest = follow(s, first["@odata.nextLink"])
    ids = [u["id"] for u in first["value"]] + [u["id"] for p in rest for u in p["value"]]
    assert users[150].id not in ids and users[160].id not in ids
    assert len(ids) == 248 and len(set(ids)) == 248


def test_unknown_and_foreign_skiptokens_are_expired(directory):
    server, s, _users, _group = directory
    message = "The specified page token value has expired and can no longer be included in your request."
    for token in ("garbage", "AAAA", "X" * 27):
        error_of(s.get(f"{server.graph_url}/users", params={"$skiptoken": token}), 400,
                 "Directory_ExpiredPageToken", message)
    link = s.get(f"{server.graph_url}/users", params={"$top": "5"}).json()["@odata.nextLink"]
    token = parse_qs(urlsplit(link).query)["$skiptoken"][0]
    error_of(s.get(f"{server.graph_url}/groups", params={"$skiptoken": token}), 400,
             "Directory_ExpiredPageToken", message)


def test_evicted_cursors_give_the_expired_token_error(directory):
    server, s, _users, _group = directory
    server.app.extensions[EXTENSION_KEY] = CursorStore(max_cursors=2)
    links = [s.get(f"{server.graph_url}/users", params={"$top": "10"}).json()["@odata.nextLink"] for _ in range(3)]
    error_of(s.get(links[0]), 400, "Directory_ExpiredPageToken")
    assert s.get(links[2]).status_code == 200


def test_count_with_eventual_consistency_is_on_the_first_page_only(directory):
    server, s, _users, group = directory
    pages = follow(s, f"{server.graph_url}/users", params={"$count": "true", "$top": "100"}, headers=EVENTUAL)
    assert pages[0]["@odata.count"] == 250
    assert all("@odata.count" not in p for p in pages[1:])
    members = s.get(f"{server.graph_url}/groups/{group.id}/members", params={"$count": "true"}, headers=EVENTUAL)
    assert members.json()["@odata.count"] == 31


def test_count_without_the_header_is_silently_ignored(directory):
    server, s, _users, _group = directory
    response = s.get(f"{server.graph_url}/users", params={"$count": "true"})
    assert response.status_code == 200
    assert "@odata.count" not in response.json()
    assert len(response.json()["value"]) == 100


def test_count_segment_needs_eventual_consistency(directory):
    server, s, _users, group = directory
    for path in ("/users/$count", "/groups/$count", f"/groups/{group.id}/members/$count"):
        error_of(s.get(f"{server.graph_url}{path}"), 400, "Request_BadRequest", "$count is not currently supported.")
    expected = {"/users/$count": "250", "/groups/$count": "2", f"/groups/{group.id}/members/$count": "31",
                f"/groups/{group.id}/members/microsoft.graph.user/$count": "30",
                f"/groups/{group.id}/transitiveMembers/$count": "32",
                f"/groups/{group.id}/transitiveMembers/microsoft.graph.group/$count": "1"}
    for path, count in expected.items():
        response = s.get(f"{server.graph_url}{path}", headers=EVENTUAL)
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/plain")
        assert response.text == count, path


def test_a_filtered_query_pages_through_its_matches_only(directory):
    server, s, users, _group = directory
    params = {"$filter": "startswith(displayName,'User1')", "$top": "30", "$select": "id,displayName"}
    pages = follow(s, f"{server.graph_url}/users", params=params)
    assert [len(p["value"]) for p in pages] == [30, 30, 30, 10]
    assert parse_qs(urlsplit(pages[0]["@odata.nextLink"]).query)["$filter"] == ["startswith(displayName,'User1')"]
    assert [u["id"] for p in pages for u in p["value"]] == [u.id for u in users[100:200]]


def test_query_option_names_ignore_case(directory):
    server, s, _users, _group = directory
    body = s.get(f"{server.graph_url}/users", params={"$Top": "3"}).json()
    assert len(body["value"]) == 3
    assert parse_qs(urlsplit(body["@odata.nextLink"]).query)["$Top"] == ["3"]
    error_of(s.get(f"{server.graph_url}/users", params={"$TOP": "1000"}), 400, "Request_UnsupportedQuery")
    error_of(s.get(f"{server.graph_url}/users", params={"$Skip": "1"}), 400, "Request_BadRequest")
