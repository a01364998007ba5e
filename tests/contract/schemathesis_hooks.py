"""schemathesis hooks for the sandbox: a token, live ids, and Feishu's envelope.

Loaded by tests/contract/run.sh through SCHEMATHESIS_HOOKS; reads SANDBOX_URL, SANDBOX_APP_ID
and SANDBOX_APP_SECRET.

- `TenantToken` asks the sandbox's token endpoint for a tenant token (as an SDK does) and
  sends it as `Authorization: Bearer …` on every operation but the token endpoint itself.
- `use_live_ids` gives half of the generated cases of the operations that take an existing id
  (update, delete, create and patch an assessment) the id of an interview or assessment just
  created, so their success answers are checked too, not only the unknown-id refusal.
- `feishu_envelope` is a check: every answer is Feishu's envelope with the header's log id.
"""

import json
import os
import random
import urllib.request

import schemathesis

SANDBOX_URL = os.environ["SANDBOX_URL"]
APP_ID = os.environ["SANDBOX_APP_ID"]
APP_SECRET = os.environ["SANDBOX_APP_SECRET"]
TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"

# The sandbox is on 127.0.0.1: never through a proxy the environment may name.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _post(path, body, token=None):
    """POSTs `body` as JSON to the sandbox; the decoded answer (errors raise)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(SANDBOX_URL + path, data=json.dumps(body).encode(), headers=headers)
    with _direct.open(request, timeout=10) as response:
        return json.load(response)


def _fetch_token():
    answer = _post(TOKEN_PATH, {"app_id": APP_ID, "app_secret": APP_SECRET})
    if answer.get("code") != 0 or not answer.get("tenant_access_token"):
        raise RuntimeError(f"the sandbox refused the token request: {answer}")
    return answer["tenant_access_token"]


@schemathesis.auth()
class TenantToken:
    """A tenant token of the sandbox's app; schemathesis caches it (refresh_interval)."""

    # Sandbox tokens live 7200 s by default; an hour is well inside that.
    refresh_interval = 3600

    def get(self, case, context):
        return _fetch_token()

    def set(self, case, data, context):
        # Only where the document asks for a token: the token endpoint is public.
        if case.operation.path == TOKEN_PATH:
            return
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# ---- live ids ----

INTERVIEWS = "/open-apis/hire/v1/external_interviews"
# Which cases get a live id: a fixed seed, so a run with the same schemathesis seed repeats.
_coin = random.Random(0)
_hook_token = []


def _live_interview():
    """A new interview with one assessment: (interview id, assessment id)."""
    if not _hook_token:
        _hook_token.append(_fetch_token())
    body = {
        "external_application_id": "6960663240925956437",
        "participate_status": 1,
        "interview_assessments": [{"username": "schemathesis", "conclusion": 2}],
    }
    answer = _post(INTERVIEWS, body, _hook_token[0])
    if answer.get("code") != 0:
        raise RuntimeError(f"the sandbox did not create the interview a case needs: {answer}")
    interview = answer["data"]["external_interview"]
    return interview["id"], interview["interview_assessments"][0]["id"]


@schemathesis.hook
def map_case(context, case):
    """Half of the cases that name an existing id get a live one (only where a string was
    generated: a negative case keeps whatever makes it negative)."""
    operation = case.operation
    path, method = operation.path, operation.method.upper()
    if path == TOKEN_PATH or _coin.random() < 0.5:
        return case
    parameters = case.path_parameters or {}
    if "external_interview_id" in parameters and isinstance(parameters["external_interview_id"], str):
        parameters["external_interview_id"] = _live_interview()[0]
    elif "external_interview_assessment_id" in parameters and isinstance(
        parameters["external_interview_assessment_id"], str
    ):
        parameters["external_interview_assessment_id"] = _live_interview()[1]
    elif method == "POST" and path.endswith("/external_interview_assessments"):
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("external_interview_id"), str):
            body["external_interview_id"] = _live_interview()[0]
    return case


# ---- checks ----


@schemathesis.check
def feishu_envelope(ctx, response, case):
    """Every answer is Feishu's envelope, carrying the log id of its `X-Tt-Logid` header.

    A success is `code` 0 (the token endpoint's `tenant_access_token` beside it); an error
    (any 4xx, a validation error above all) is a non-zero integer `code`, a non-empty `msg`
    and `error.log_id` equal to the header; a 400 with 1002002 (invalid parameter) says why
    in `msg` or names the fields in `error.field_violations`.
    """
    # schemathesis keeps header names lowercased, with every value in a list.
    values = {name.lower(): value for name, value in response.headers.items()}.get("x-tt-logid")
    log_id = values[0] if isinstance(values, list) and values else values
    assert log_id, "no X-Tt-Logid header"
    try:
        body = json.loads(response.content)
    except ValueError as err:
        raise AssertionError(f"the body is not JSON: {err}") from None
    assert isinstance(body, dict), f"the body is not a JSON object: {body!r}"
    code = body.get("code")
    assert isinstance(code, int) and not isinstance(code, bool), f"`code` is not an integer: {code!r}"
    if 200 <= response.status_code < 300:
        assert code == 0, f"HTTP {response.status_code} with code {code}"
        return None
    assert code != 0, f"HTTP {response.status_code} with code 0"
    assert isinstance(body.get("msg"), str) and body["msg"], f"no `msg`: {body!r}"
    error = body.get("error")
    assert isinstance(error, dict), f"no `error` object: {body!r}"
    assert error.get("log_id") == log_id, f"error.log_id {error.get('log_id')!r} is not the header's {log_id!r}"
    if response.status_code == 400 and code == 1002002:
        violations = error.get("field_violations")
        if violations is not None:
            assert isinstance(violations, list) and violations, f"empty field_violations: {body!r}"
            for violation in violations:
                assert isinstance(violation, dict) and isinstance(violation.get("description"), str), violation
    return None
