"""The official msgraph-sdk (kiota) against the mock over TLS: page through whole directories with PageIterator.

Tokens come from the identity platform's token endpoint through azure-identity,
exactly as an LMS importer would configure it; the expected results are computed
from the tenant model in the test, not by the server.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest
from azure.identity import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import AzureIdentityAuthenticationProvider
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.groups.item.members.members_request_builder import MembersRequestBuilder
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.user import User
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory
from msgraph_core.tasks.page_iterator import PageIterator

SCOPES = ["https://graph.microsoft.com/.default"]
# Large enough for two pages at $top=999 and eleven at the default 100; msgraph-sdk spends about
# 10 ms deserializing each object, so every extra thousand costs the suite seconds.
USERS = 1100
MEMBERS = 1010


def sdk_client(server) -> tuple[GraphServiceClient, GraphRequestAdapter]:
    credential = ClientSecretCredential(server.tenant.id, server.client_id, server.client_secret, authority=server.url,
                                        disable_instance_discovery=True, connection_verify=server.ca)
    auth = AzureIdentityAuthenticationProvider(credential, scopes=SCOPES)
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=server.ca)))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = server.graph_url
    return GraphServiceClient(request_adapter=adapter), adapter


async def iterate_all(first, adapter) -> list:
    items: list = []
    iterator = PageIterator(first, adapter, error_mapping={"XXX": ODataError})
    await iterator.iterate(lambda item: items.append(item) or True)
    return items


@pytest.fixture
def big_directory(graph_server):
    """1,100 users; a group of 1,010 (1,000 users and 10 nested groups); built here with the model's API."""
    server = graph_server()
    tenant = server.tenant
    users = [tenant.create_user(userPrincipalName=f"learner{i:04}@{tenant.primary_domain}", givenName=f"L{i:04}",
                                surname="Learner", department=("Math", "Art", "Law")[i % 3]) for i in range(USERS)]
    nested = [tenant.create_group(displayName=f"Cohort {i}", members=[users[USERS - 100 + i].id]) for i in range(10)]
    big = tenant.create_group(displayName="Everyone enrolled",
                              members=[u.id for u in users[: MEMBERS - 10]] + [g.id for g in nested])
    return server, users, nested, big


@pytest.mark.parametrize("top", [999, None], ids=["top999", "default-page-size"])
def test_page_iterator_reads_every_user(big_directory, top):
    server, users, _nested, _big = big_directory

    async def run() -> list:
        client, adapter = sdk_client(server)
        params = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=top, select=["id", "userPrincipalName"])
        first = await client.users.get(request_configuration=RequestConfiguration(query_parameters=params))
        assert first.odata_next_link.startswith(f"{server.graph_url}/users?")
        return await iterate_all(first, adapter)

    items = asyncio.run(run())
    expected = {u.id: u.userPrincipalName for u in server.tenant.users.values()}
    assert len(expected) == USERS
    assert all(isinstance(item, User) for item in items)
    assert len(items) == USERS
    assert {item.id: item.user_principal_name for item in items} == expected


@pytest.mark.parametrize("top", [999, None], ids=["top999", "default-page-size"])
def test_page_iterator_reads_every_member_as_user_or_group(big_directory, top):
    server, users, nested, big = big_directory
    tenant = server.tenant
    expected_users = {m for m in tenant.groups[big.id].members if m in tenant.users}
    expected_groups = {m for m in tenant.groups[big.id].members if m in tenant.groups}

    async def run() -> list:
        client, adapter = sdk_client(server)
        params = MembersRequestBuilder.MembersRequestBuilderGetQueryParameters(top=top, select=["id", "displayName"])
        first = await client.groups.by_group_id(big.id).members.get(
            request_configuration=RequestConfiguration(query_parameters=params))
        return await iterate_all(first, adapter)

    items = asyncio.run(run())
    assert len(items) == MEMBERS
    assert {i.id for i in items if isinstance(i, User)} == expected_users
    assert {i.id for i in items if isinstance(i, Group)} == expected_groups == {g.id for g in nested}
    assert all(i.odata_type in ("#microsoft.graph.user", "#microsoft.graph.group") for i in items)


def test_transitive_user_members_through_the_cast(graph_server):
    """msgraph-sdk casts with the ``graph.`` alias: ``.../transitiveMembers/graph.user``."""
    server = graph_server()
    tenant = server.tenant
    users = [tenant.create_user(userPrincipalName=f"t{i}@{tenant.primary_domain}") for i in range(12)]
    inner = tenant.create_group(displayName="Inner", members=[u.id for u in users[6:]])
    outer = tenant.create_group(displayName="Outer", members=[u.id for u in users[:6]] + [inner.id])

    async def run() -> tuple[list, list]:
        client, adapter = sdk_client(server)
        first = await client.groups.by_group_id(outer.id).transitive_members.graph_user.get()
        groups = await client.groups.by_group_id(outer.id).members.graph_group.get()
        return await iterate_all(first, adapter), groups.value

    people, groups = asyncio.run(run())
    assert [p.id for p in people] == [u.id for u in users] and all(isinstance(p, User) for p in people)
    assert [g.id for g in groups] == [inner.id] and groups[0].display_name == "Inner"


def test_sdk_raises_odata_errors_with_graph_codes(big_directory):
    server, users, _nested, big = big_directory

    async def error_of(call) -> ODataError:
        with pytest.raises(ODataError) as caught:
            await call()
        return caught.value

    async def run() -> tuple[ODataError, ODataError, ODataError]:
        client, _adapter = sdk_client(server)
        missing = await error_of(lambda: client.users.by_user_id("00000000-0000-4000-8000-00000000abcd").get())
        malformed = await error_of(lambda: client.groups.by_group_id("not-a-guid").get())
        no_manager = await error_of(lambda: client.users.by_user_id(users[0].id).manager.get())
        return missing, malformed, no_manager

    missing, malformed, no_manager = asyncio.run(run())
    assert missing.response_status_code == 404 and missing.error.code == "Request_ResourceNotFound"
    assert malformed.response_status_code == 400 and malformed.error.code == "Request_BadRequest"
    assert malformed.error.message == "Invalid object identifier 'not-a-guid'."
    assert no_manager.error.message.startswith("Resource 'manager' does not exist")

    server.tenant.grant_consent(server.client_id, ["User.Read.All"])

    async def forbidden() -> ODataError:
        client, _adapter = sdk_client(server)  # a new credential, so a new token with the new roles
        assert (await client.users.by_user_id(users[1].id).get()).id == users[1].id
        return await error_of(lambda: client.groups.by_group_id(big.id).members.get())

    denied = asyncio.run(forbidden())
    assert denied.response_status_code == 403 and denied.error.code == "Authorization_RequestDenied"
    assert denied.error.message == "Insufficient privileges to complete the operation."


def test_sdk_counts_with_eventual_consistency(big_directory):
    server, _users, _nested, big = big_directory
    from msgraph.generated.groups.item.members.count.count_request_builder import CountRequestBuilder

    async def run() -> int:
        client, _adapter = sdk_client(server)
        config = RequestConfiguration(query_parameters=CountRequestBuilder.CountRequestBuilderGetQueryParameters())
        config.headers.add("ConsistencyLevel", "eventual")
        return await client.groups.by_group_id(big.id).members.count.get(request_configuration=config)

    assert asyncio.run(run()) == MEMBERS
