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

import asyncio
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
    BatchQueryExternalInterviewRequest,
    BatchQueryExternalInterviewRequestBody,
    BatchQueryExternalInterviewResponse,
    CreateExternalInterviewAssessmentRequest,
    CreateExternalInterviewAssessmentResponse,
    CreateExternalInterviewRequest,
    CreateExternalInterviewResponse,
    DeleteExternalInterviewRequest,
    DeleteExternalInterviewResponse,
    ExternalInterview,
    ExternalInterviewAssessment,
    ExternalInterviewAssessmentDimension,
    PatchExternalInterviewAssessmentRequest,
    PatchExternalInterviewAssessmentResponse,
    UpdateExternalInterviewRequest,
    UpdateExternalInterviewResponse,
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


def create_external_interview(cli: lark.Client, interview: ExternalInterview) -> CreateExternalInterviewResponse:
    request = CreateExternalInterviewRequest.builder().request_body(interview).build()
    return cli.hire.v1.external_interview.create(request)


async def acreate_external_interview(
    cli: lark.Client, interview: ExternalInterview
) -> CreateExternalInterviewResponse:
    """The async variant: sent through httpx instead of requests."""
    request = CreateExternalInterviewRequest.builder().request_body(interview).build()
    return await cli.hire.v1.external_interview.acreate(request)


def update_external_interview(
    cli: lark.Client, interview_id: str, interview: ExternalInterview
) -> UpdateExternalInterviewResponse:
    request = (
        UpdateExternalInterviewRequest.builder().external_interview_id(interview_id).request_body(interview).build()
    )
    return cli.hire.v1.external_interview.update(request)


def delete_external_interview(cli: lark.Client, interview_id: str) -> DeleteExternalInterviewResponse:
    request = DeleteExternalInterviewRequest.builder().external_interview_id(interview_id).build()
    return cli.hire.v1.external_interview.delete(request)


def batch_query_external_interviews(
    cli: lark.Client,
    application_id: Optional[str] = None,
    interview_ids: Optional[List[str]] = None,
    page_size: Optional[int] = None,
    page_token: Optional[str] = None,
) -> BatchQueryExternalInterviewResponse:
    builder = BatchQueryExternalInterviewRequest.builder()
    if application_id is not None:
        builder = builder.external_application_id(application_id)
    if page_size is not None:
        builder = builder.page_size(page_size)
    if page_token is not None:
        builder = builder.page_token(page_token)
    body = BatchQueryExternalInterviewRequestBody.builder()
    if interview_ids is not None:
        body = body.external_interview_id_list(interview_ids)
    request = builder.request_body(body.build()).build()
    return cli.hire.v1.external_interview.batch_query(request)


def create_external_interview_assessment(
    cli: lark.Client, assessment: ExternalInterviewAssessment
) -> CreateExternalInterviewAssessmentResponse:
    request = CreateExternalInterviewAssessmentRequest.builder().request_body(assessment).build()
    return cli.hire.v1.external_interview_assessment.create(request)


def patch_external_interview_assessment(
    cli: lark.Client, assessment_id: str, assessment: ExternalInterviewAssessment
) -> PatchExternalInterviewAssessmentResponse:
    request = (
        PatchExternalInterviewAssessmentRequest.builder()
        .external_interview_assessment_id(assessment_id)
        .request_body(assessment)
        .build()
    )
    return cli.hire.v1.external_interview_assessment.patch(request)


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


def ok(response: Any, what: str) -> None:
    """Code 0 and a log id the SDK saw; names the answer otherwise."""
    assert response.success(), f"{what}: code {response.code}, msg {response.msg!r}"
    assert response.get_log_id(), f"{what}: the SDK saw no log id; headers: {response.raw.headers}"


def created_id(cli: lark.Client, external_id: str, application_id: str = APPLICATION_ID) -> str:
    interview = documented_interview(external_id)
    interview.external_application_id = application_id
    response = create_external_interview(cli, interview)
    ok(response, f"create {external_id}")
    return response.data.external_interview.id


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


def test_the_async_create_works_through_httpx() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    response = asyncio.run(acreate_external_interview(cli, documented_interview("py-async-1")))
    assert response.success(), (response.code, response.msg)
    interview = response.data.external_interview
    assert isinstance(interview, ExternalInterview) and is_snowflake(interview.id), interview
    [record] = stored(SANDBOX_URL, "py-async-1")
    assert record["interview"]["id"] == interview.id
    # httpx hands the SDK lowercase header names, so `get_log_id()` (which looks up
    # `X-Tt-Logid` by exact name) finds nothing on async calls, against Feishu as here. The
    # header is there all the same:
    assert response.raw.headers.get("x-tt-logid") == record["log_id"], response.raw.headers


def test_update_replaces_the_interview() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    interview_id = created_id(cli, "py-update-1")
    replacement = (
        ExternalInterview.builder()
        .external_id("py-update-1")
        .external_application_id(APPLICATION_ID)
        .participate_status(2)
        .begin_time(1700000000000)
        .interview_assessments(
            [ExternalInterviewAssessment.builder().username("李四").conclusion(2).content("second round").build()]
        )
        .build()
    )
    response = update_external_interview(cli, interview_id, replacement)
    ok(response, "update")
    interview = response.data.external_interview
    assert isinstance(interview, ExternalInterview)
    assert interview.id == interview_id, "an update keeps the id"
    assert (interview.participate_status, interview.begin_time, interview.end_time) == (2, 1700000000000, None)
    [assessment] = interview.interview_assessments
    assert (assessment.username, assessment.conclusion, assessment.content) == ("李四", 2, "second round")
    assert is_snowflake(assessment.id), assessment.id


def test_batch_query_pages_through_an_application_and_finds_ids() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    application = "7000000000000000001"
    ids = [created_id(cli, f"py-query-{n}", application) for n in range(3)]

    first = batch_query_external_interviews(cli, application_id=application, page_size=2)
    ok(first, "batch query, page 1")
    assert all(isinstance(item, ExternalInterview) for item in first.data.items)
    assert [item.id for item in first.data.items] == ids[:2]
    assert first.data.has_more is True and first.data.page_token, vars(first.data)
    second = batch_query_external_interviews(
        cli, application_id=application, page_size=2, page_token=first.data.page_token
    )
    ok(second, "batch query, page 2")
    assert [item.id for item in second.data.items] == ids[2:]
    assert second.data.has_more is False, vars(second.data)
    assert second.data.items[0].participate_status == 1
    assert second.data.items[0].interview_assessments[0].username == "张三"

    by_ids = batch_query_external_interviews(cli, interview_ids=[ids[2], ids[0]])
    ok(by_ids, "batch query by ids")
    assert sorted(item.id for item in by_ids.data.items) == sorted([ids[0], ids[2]]), by_ids.data.items


def test_delete_removes_the_interview() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    interview_id = created_id(cli, "py-delete-1")
    response = delete_external_interview(cli, interview_id)
    ok(response, "delete")
    assert stored(SANDBOX_URL, "py-delete-1") == []
    found = batch_query_external_interviews(cli, interview_ids=[interview_id])
    ok(found, "batch query after delete")
    assert not found.data.items, found.data.items


def test_assessments_are_created_and_patched() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    interview_id = created_id(cli, "py-assessed-1")
    assessment = (
        ExternalInterviewAssessment.builder()
        .external_id("py-assessment-1")
        .external_interview_id(interview_id)
        .username("王五")
        .conclusion(2)
        .content("good")
        .assessment_dimension_list(
            [ExternalInterviewAssessmentDimension.builder().assessment_type(1).title("Coding").score(4).build()]
        )
        .build()
    )
    created = create_external_interview_assessment(cli, assessment)
    ok(created, "create assessment")
    typed = created.data.external_interview_assessment
    assert isinstance(typed, ExternalInterviewAssessment)
    assert is_snowflake(typed.id), typed.id
    assert (typed.external_interview_id, typed.username, typed.conclusion) == (interview_id, "王五", 2)
    assert typed.assessment_dimension_list[0].score == 4

    change = ExternalInterviewAssessment.builder().conclusion(1).content("changed my mind").build()
    patched = patch_external_interview_assessment(cli, typed.id, change)
    ok(patched, "patch assessment")
    after = patched.data.external_interview_assessment
    assert (after.id, after.conclusion, after.content) == (typed.id, 1, "changed my mind")
    assert after.username == "王五", "a patch changes only the fields sent"

    refused = patch_external_interview_assessment(
        cli, typed.id, ExternalInterviewAssessment.builder().conclusion(7).build()
    )
    assert (refused.code, refused.raw.status_code) == (1002002, 400), (refused.code, refused.msg)
    assert [v["field"] for v in refused.error["field_violations"]] == ["conclusion"], refused.error


TESTS: List[Callable[[], None]] = [
    test_the_sdk_fetches_the_token_once_and_caches_it,
    test_create_returns_the_typed_interview_and_the_log_id,
    test_a_validation_error_names_the_field,
    test_the_async_create_works_through_httpx,
    test_update_replaces_the_interview,
    test_batch_query_pages_through_an_application_and_finds_ids,
    test_delete_removes_the_interview,
    test_assessments_are_created_and_patched,
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
