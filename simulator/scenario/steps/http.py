"""HTTP step: a request made by hand, as the LMS admin, with the job's token, or as an app with a Graph token.

The response is kept for ``response`` expectations, and ``save`` copies values
out of its JSON body into variables for later steps (``save: {ann_id:
Resources.0.id}``), the way a tester would copy an id from one call to the next.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from ..errors import StepError


def json_path(body: Any, path: str) -> Any:
    """``Resources.0.id`` in a JSON body; ``LookupError`` naming the part that is missing."""
    value = body
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise LookupError(f"the response has no '{path}' (stopped at '{part}')")
    return value


def _app_token(env: Any, app: str | None) -> str:
    graph = env.ensure_graph()
    app_id = env.app_id(app)  # the only app, when none is named
    credentials = env.tenant.get_application(app_id).passwordCredentials
    if not credentials:
        raise StepError(f"app '{app or app_id}' has no client secret to get a token with (add_secret first)")
    secret = credentials[-1].secretText  # the newest, as an admin who just made one would paste
    response = env.session.post(f"{graph.url}/{env.tenant.id}/oauth2/v2.0/token", verify=graph.ca, timeout=30,
                                data={"grant_type": "client_credentials", "client_id": app_id, "client_secret": secret,
                                      "scope": "https://graph.microsoft.com/.default"})
    if response.status_code != 200:
        raise StepError(f"the app cannot get a token: {response.status_code} {response.text[:300]}")
    token = response.json()["access_token"]
    env.redactor.add(token)
    return token


def http(env: Any, args: dict[str, Any]) -> None:
    who = args.get("as", "app" if args.get("server") == "graph" else "lms-admin")
    on = args.get("server", "graph" if who == "app" else "lms")
    verify: Any = True
    if on == "graph":
        graph = env.ensure_graph()
        base, verify = graph.url, graph.ca
    elif on == "pull_lms":
        if env.pull is None:
            raise StepError("this scenario has no pull LMS")
        base = env.pull.base_url
    else:
        base = env.target_url
    if who == "app":
        token = _app_token(env, args.get("app"))
    elif on == "pull_lms":
        from ...lms.graph_pull import LmsError

        login = env.pull.admin_login if who == "lms-admin" else who
        try:
            token = env.pull.model.issue_token(login)  # the account signs in to the LMS
        except LmsError as exc:
            raise StepError(f"{login} cannot sign in to the pull LMS: {exc}") from None
        env.redactor.add(token)
    elif who == "job":
        token = env.job_token
    else:
        token = env.admin_token
    headers = {"Authorization": f"Bearer {token}"}
    if "json" in args:
        headers["Content-Type"] = "application/scim+json" if on == "lms" else "application/json"
    if on == "pull_lms" and not args["path"].startswith("/api"):
        args = {**args, "path": "/api/" + args["path"].lstrip("/")}
    url = base.rstrip("/") + "/" + args["path"].lstrip("/")
    try:
        response = env.session.request(args["method"], url, params=args.get("query"), json=args.get("json"),
                                       headers=headers, verify=verify, timeout=30)
    except requests.RequestException as exc:
        raise StepError(f"{args['method']} {args['path']}: no answer ({type(exc).__name__})") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    env.outcomes.response, env.outcomes.response_json = response, body
    if on == "pull_lms" or (on == "lms" and env.lms is None):  # servers without a request log of their own
        env.record_exchange({"server": on, "method": args["method"], "path": url, "status": response.status_code,
                             "request": None if args.get("json") is None else str(args.get("json")),
                             "response": response.text, "order": time.time()})
    for name, path in (args.get("save") or {}).items():
        try:
            env.values[name] = json_path(body, path)
        except LookupError as exc:
            raise StepError(f"save {name}: {exc}") from None


STEPS = {"http": http}
