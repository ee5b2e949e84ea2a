"""The pytest plugin as a user's own suite sees it: installed fixtures, real servers, real clients."""

from __future__ import annotations

USER_TEST = '''
import msal, requests

def test_my_importer_reads_every_user(entrasim_graph):
    graph = entrasim_graph(users=40, groups=3, seed=5)
    info = graph.info
    http = requests.Session(); http.trust_env = False; http.verify = info["ca_bundle"]
    app = msal.ConfidentialClientApplication(info["client_id"], client_credential=info["client_secret"],
                                             authority=info["authority"], instance_discovery=False, http_client=http)
    token = app.acquire_token_for_client(scopes=[info["scope"]])["access_token"]
    users = http.get(info["graph_url"] + "/users?$top=999", headers={"Authorization": "Bearer " + token}).json()["value"]
    assert len(users) == 40

def test_faults_reach_my_client(entrasim_graph):
    graph = entrasim_graph(users=3, groups=1, tls=False)
    graph.faults.add(surface="graph", path="/v1.0/users", kind="throttled", retry_after=7, first=1)
    token = graph.app.extensions["entrasim"].tokens.issue(graph.client_id)[0]
    response = requests.get(graph.graph_url + "/users", headers={"Authorization": "Bearer " + token})
    assert response.status_code == 429 and response.headers["Retry-After"] == "7"
    assert response.json()["error"]["code"] == "TooManyRequests"
'''


def test_fixtures_are_available_to_other_projects(pytester):
    pytester.makepyfile(test_user_suite=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=2)
