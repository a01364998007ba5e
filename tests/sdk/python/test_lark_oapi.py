"""Feishu's official Python SDK (lark-oapi 1.7.5), unchanged, against the sandbox.

The SDK is configured as a user configures it for Feishu, with the sandbox's base URL as its
domain; nothing in it is patched. Run by tests/sdk/run.sh, which starts the sandboxes and sets:

  SANDBOX_URL, SANDBOX_APP_ID, SANDBOX_APP_SECRET
      a sandbox that accepts only that app (default token lifetime, rate limit off)
  SANDBOX_TTL_URL, SANDBOX_TTL_APP_ID, SANDBOX_TTL_APP_SECRET
      a sandbox whose tokens live 1 s, for the token refresh

Prints one line per test and, last, `SUMMARY <passed> <failed>`; exits 1 if any test failed.
Tests run in the order of TESTS (the SDK's token cache is process-wide, per app id).
"""

import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

import lark_oapi as lark
from lark_oapi.api.hire.v1 import (
    CreateExternalInterviewRequest,
    CreateExternalInterviewResponse,
    ExternalInterview,
    ExternalInterviewAssessment,
    ExternalInterviewAssessmentDimension,
)

SANDBOX_URL = os.environ["SANDBOX_URL"]
APP_ID = os.environ["SANDBOX_APP_ID"]
APP_SECRET = os.environ["SANDBOX_APP_SECRET"]
TTL_URL = os.environ["SANDBOX_TTL_URL"]
TTL_APP_ID = os.environ["SANDBOX_TTL_APP_ID"]
TTL_APP_SECRET = os.environ["SANDBOX_TTL_APP_SECRET"]

APPLICATION_ID = "6960663240925956437"

# The sandbox's own inspection endpoints, read without the SDK (and without any proxy).
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def sandbox_json(base: str, path: str, body: Optional[dict] = None, headers: Optional[dict] = None) -> Tuple[int, dict]:
    """GET (or POST `body` as JSON) on the sandbox; returns status and decoded body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _direct.open(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def stats(base: str) -> dict:
    return sandbox_json(base, "/sandbox/stats")[1]


def stored(base: str, external_id: str) -> List[dict]:
    return sandbox_json(base, f"/sandbox/external_interviews?external_id={external_id}")[1]["external_interviews"]


def client(base: str, app_id: str, app_secret: str) -> lark.Client:
    """A client configured as for Feishu, with the sandbox as its domain."""
    return (
        lark.Client.builder()
        .app_id(app_id)
        .app_secret(app_secret)
        .domain(base)
        .log_level(lark.LogLevel.ERROR)
        .build()
    )


# ---- one function per operation of the external-interview resource ----
# TODO (see tests/sdk/README.md): update, delete, batch_query, and the assessments' create and
# update, once the sandbox serves them.


def create_external_interview(cli: lark.Client, interview: ExternalInterview) -> CreateExternalInterviewResponse:
    request = CreateExternalInterviewRequest.builder().request_body(interview).build()
    return cli.hire.v1.external_interview.create(request)


# ---- request bodies ----


def documented_interview(external_id: str, participate_status: int = 1) -> ExternalInterview:
    """The request example of the official documentation, built with the SDK's builders."""
    dimension = (
        ExternalInterviewAssessmentDimension.builder()
        .score(99)
        .option("选项1")
        .options(["选项1"])
        .content("不错的面试内容")
        .assessment_type(1)
        .title("面试测试")
        .description("这是一次测试")
        .build()
    )
    assessment = (
        ExternalInterviewAssessment.builder()
        .username("张三")
        .conclusion(1)
        .assessment_dimension_list([dimension])
        .content("第一次面试")
        .build()
    )
    return (
        ExternalInterview.builder()
        .external_id(external_id)
        .external_application_id(APPLICATION_ID)
        .participate_status(participate_status)
        .begin_time(1618500278638)
        .end_time(1618500278639)
        .interview_assessments([assessment])
        .build()
    )


def is_snowflake(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 19 and value.isdigit()


# ---- tests ----


def test_the_sdk_fetches_the_token_once_and_caches_it() -> None:
    before = stats(SANDBOX_URL)
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    first = create_external_interview(cli, documented_interview("py-token-1"))
    second = create_external_interview(cli, documented_interview("py-token-2"))
    after = stats(SANDBOX_URL)
    assert (first.code, second.code) == (0, 0), (first.code, first.msg, second.code, second.msg)
    # The token request carries no Content-Type (the SDK sends none); the sandbox reads it.
    assert after["tokens_issued"] - before["tokens_issued"] == 1, (before, after)
    assert after["token_failures"] == before["token_failures"], after
    assert after["auth_failures"] == before["auth_failures"], after


def test_create_returns_the_typed_interview_and_the_log_id() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    response = create_external_interview(cli, documented_interview("py-create-1"))
    assert response.success(), (response.code, response.msg)
    assert (response.code, response.msg) == (0, "ok")
    interview = response.data.external_interview
    assert isinstance(interview, ExternalInterview)
    assert is_snowflake(interview.id), interview.id
    assert interview.external_application_id == APPLICATION_ID
    assert interview.participate_status == 1
    assert (interview.begin_time, interview.end_time) == (1618500278638, 1618500278639)
    [assessment] = interview.interview_assessments
    assert isinstance(assessment, ExternalInterviewAssessment)
    assert is_snowflake(assessment.id) and assessment.id != interview.id, assessment.id
    assert (assessment.username, assessment.conclusion, assessment.content) == ("张三", 1, "第一次面试")
    [dimension] = assessment.assessment_dimension_list
    assert isinstance(dimension, ExternalInterviewAssessmentDimension)
    assert (dimension.score, dimension.assessment_type, dimension.options) == (99, 1, ["选项1"])

    # The SDK reads the log id from the `X-Tt-Logid` header by exact name.
    log_id = response.get_log_id()
    assert log_id, f"the SDK saw no log id; headers: {response.raw.headers}"
    [record] = stored(SANDBOX_URL, "py-create-1")
    assert record["log_id"] == log_id, (record["log_id"], log_id)
    assert record["interview"]["id"] == interview.id


def test_a_validation_error_names_the_field() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    response = create_external_interview(cli, documented_interview("py-invalid-1", participate_status=9))
    assert not response.success()
    assert response.code == 1002002, (response.code, response.msg)
    assert response.raw.status_code == 400, response.raw.status_code
    # lark-oapi 1.7.5 leaves `error` as the decoded JSON object: its response classes type
    # only `data` (BaseResponse declares `error: Error` but gives `init` no type for it).
    error = response.error
    assert isinstance(error, dict), type(error)
    violations = error["field_violations"]
    assert [(v["field"], v["value"]) for v in violations] == [("participate_status", "9")], violations
    assert response.get_log_id(), response.raw.headers
    assert error["log_id"] == response.get_log_id()
    assert stored(SANDBOX_URL, "py-invalid-1") == []


def test_the_sdk_gets_a_new_token_when_the_old_one_expired() -> None:
    # A token fetched by hand at the start is refused once its 1 s are over: the expiry is real.
    status, answer = sandbox_json(
        TTL_URL,
        "/open-apis/auth/v3/tenant_access_token/internal",
        {"app_id": TTL_APP_ID, "app_secret": TTL_APP_SECRET},
    )
    assert (status, answer["code"], answer["expire"]) == (200, 0, 1), answer
    old_token = answer["tenant_access_token"]

    before = stats(TTL_URL)
    cli = client(TTL_URL, TTL_APP_ID, TTL_APP_SECRET)
    first = create_external_interview(cli, documented_interview("py-refresh-1"))
    time.sleep(1.5)
    second = create_external_interview(cli, documented_interview("py-refresh-2"))
    after = stats(TTL_URL)

    assert (first.code, second.code) == (0, 0), (first.code, first.msg, second.code, second.msg)
    status, refused = sandbox_json(
        TTL_URL,
        "/open-apis/hire/v1/external_interviews",
        {"external_id": "py-refresh-old", "external_application_id": APPLICATION_ID},
        {"Authorization": f"Bearer {old_token}"},
    )
    assert (status, refused["code"]) == (400, 99991663), refused
    # The SDK expires tokens 10 min early, so it fetched one per call and never sent an
    # expired one.
    assert after["tokens_issued"] - before["tokens_issued"] == 2, (before, after)
    assert after["auth_failures"] == before["auth_failures"], after


TESTS: List[Callable[[], None]] = [
    test_the_sdk_fetches_the_token_once_and_caches_it,
    test_create_returns_the_typed_interview_and_the_log_id,
    test_a_validation_error_names_the_field,
    test_the_sdk_gets_a_new_token_when_the_old_one_expired,
]


def main() -> int:
    assert lark.core.const.VERSION == "1.7.5", f"expected lark-oapi 1.7.5, got {lark.core.const.VERSION}"
    passed = failed = 0
    for test in TESTS:
        try:
            test()
        except Exception:  # a failed assert or an SDK error: report it, run the rest
            failed += 1
            print(f"FAIL python: {test.__name__}")
            print("     " + traceback.format_exc().rstrip().replace("\n", "\n     "))
        else:
            passed += 1
            print(f"ok   python: {test.__name__}")
    print(f"SUMMARY {passed} {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
