"""Feishu's official Python SDK (lark-oapi 1.7.5), unchanged, against the sandbox.

The SDK is configured as a user configures it for Feishu, with the sandbox's base URL as its
domain; nothing in it is patched. Run by tests/sdk/run.sh, which starts the sandboxes and sets:

  SANDBOX_URL, SANDBOX_APP_ID, SANDBOX_APP_SECRET
      a sandbox that accepts only that app (default token lifetime, rate limit off)
  SANDBOX_LOG
      the main sandbox's log (one `answered method=… path=… status=… log_id=…` line per
      answer), to tie the log id an SDK saw to the request the sandbox answered
  SANDBOX_TTL_URL, SANDBOX_TTL_APP_ID, SANDBOX_TTL_APP_SECRET
      a sandbox whose tokens live 1 s, for the token refresh

Prints one line per test and, last, `SUMMARY <passed> <failed>`; exits 1 if any test failed.
Tests run in the order of TESTS (the SDK's token cache is process-wide, per app id).
"""

import itertools
import json
import os
import re
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
SANDBOX_LOG = os.environ["SANDBOX_LOG"]
APP_ID = os.environ["SANDBOX_APP_ID"]
APP_SECRET = os.environ["SANDBOX_APP_SECRET"]
TTL_URL = os.environ["SANDBOX_TTL_URL"]
TTL_APP_ID = os.environ["SANDBOX_TTL_APP_ID"]
TTL_APP_SECRET = os.environ["SANDBOX_TTL_APP_SECRET"]

APPLICATION_ID = "6960663240925956437"
INTERVIEWS = "/open-apis/hire/v1/external_interviews"
ASSESSMENTS = "/open-apis/hire/v1/external_interview_assessments"

# Each test that queries by application uses an application of its own: the sandbox is shared.
_applications = itertools.count(7100000000000000001)


def new_application_id() -> str:
    return str(next(_applications))

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


def answered(log_id: Optional[str]) -> Tuple[str, str, int]:
    """What the main sandbox answered under `log_id`: method, path (as received) and status."""
    assert log_id, "the SDK saw no log id"
    pattern = re.compile(r"answered method=(\S+) path=(\S+) status=(\d+) log_id=(\S+)")
    with open(SANDBOX_LOG, encoding="utf-8") as log:
        for line in log:
            found = pattern.search(line)
            if found and found.group(4) == log_id:
                return found.group(1), found.group(2), int(found.group(3))
    raise AssertionError(f"the sandbox logged no answer with log id {log_id}")


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


def update_external_interview(
    cli: lark.Client, interview_id: str, interview: ExternalInterview
) -> UpdateExternalInterviewResponse:
    request = (
        UpdateExternalInterviewRequest.builder().external_interview_id(interview_id).request_body(interview).build()
    )
    return cli.hire.v1.external_interview.update(request)


def delete_external_interview(cli: lark.Client, interview_id: str) -> DeleteExternalInterviewResponse:
    # No body: the SDK sends the DELETE without one and without Content-Type.
    request = DeleteExternalInterviewRequest.builder().external_interview_id(interview_id).build()
    return cli.hire.v1.external_interview.delete(request)


def batch_query_external_interviews(
    cli: lark.Client,
    application_id: Optional[str] = None,
    page_size: Optional[int] = None,
    page_token: Optional[str] = None,
    interview_ids: Optional[List[str]] = None,
) -> BatchQueryExternalInterviewResponse:
    """Only what is given goes out: without `interview_ids` the SDK sends the POST with no
    body at all (and no Content-Type), as a user who queries by application does."""
    builder = BatchQueryExternalInterviewRequest.builder()
    if application_id is not None:
        builder = builder.external_application_id(application_id)
    if page_size is not None:
        builder = builder.page_size(page_size)
    if page_token is not None:
        builder = builder.page_token(page_token)
    if interview_ids is not None:
        body = BatchQueryExternalInterviewRequestBody.builder().external_interview_id_list(interview_ids).build()
        builder = builder.request_body(body)
    return cli.hire.v1.external_interview.batch_query(builder.build())


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


def documented_interview(
    external_id: str, participate_status: int = 1, application_id: str = APPLICATION_ID
) -> ExternalInterview:
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
        .external_application_id(application_id)
        .participate_status(participate_status)
        .begin_time(1618500278638)
        .end_time(1618500278639)
        .interview_assessments([assessment])
        .build()
    )


def is_snowflake(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 19 and value.isdigit()


def created(cli: lark.Client, external_id: str, application_id: str = APPLICATION_ID) -> ExternalInterview:
    """Creates the documented interview and returns it as the SDK decoded it."""
    response = create_external_interview(cli, documented_interview(external_id, application_id=application_id))
    assert response.code == 0, (response.code, response.msg)
    return response.data.external_interview


def assert_ok(response: Any, method: str, path: str) -> None:
    """Code 0, `msg` "ok", and the log id the SDK read names that request in the sandbox's log."""
    assert response.success(), (response.code, response.msg, response.raw.content)
    assert (response.code, response.msg, response.raw.status_code) == (0, "ok", 200)
    assert answered(response.get_log_id()) == (method, path, 200), response.get_log_id()


def assert_invalid(response: Any, field: str, value: Optional[str]) -> None:
    """HTTP 400, 1002002, one field violation on `field` quoting `value`, in Feishu's envelope."""
    assert not response.success()
    assert (response.raw.status_code, response.code) == (400, 1002002), (response.code, response.msg)
    error = response.error  # a plain dict in lark-oapi 1.7.5 (see the create validation test)
    violations = [(v.get("field"), v.get("value")) for v in error["field_violations"]]
    assert violations == [(field, value)], violations
    assert error["log_id"] == response.get_log_id(), (error["log_id"], response.get_log_id())


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


def test_update_overwrites_the_interview_and_its_assessments() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    original = created(cli, "py-update-1")
    dimension = (
        ExternalInterviewAssessmentDimension.builder().assessment_type(3).title("Design").options(["A", "B"]).build()
    )
    assessment = (
        ExternalInterviewAssessment.builder()
        .external_id("py-update-1-a")
        .username("李四")
        .conclusion(2)
        .assessment_dimension_list([dimension])
        .build()
    )
    replacement = (
        ExternalInterview.builder()
        .external_id("py-update-1")
        .external_application_id(APPLICATION_ID)
        .participate_status(2)
        .begin_time(1700000000000)
        .interview_assessments([assessment])
        .build()
    )
    response = update_external_interview(cli, original.id, replacement)
    assert_ok(response, "PUT", f"{INTERVIEWS}/{original.id}")
    interview = response.data.external_interview
    assert isinstance(interview, ExternalInterview)
    assert (interview.id, interview.external_id) == (original.id, "py-update-1")
    assert (interview.participate_status, interview.begin_time) == (2, 1700000000000)
    # A full overwrite: the end time not sent is gone, and so is the old assessment.
    assert interview.end_time is None, interview.end_time
    [updated] = interview.interview_assessments
    assert isinstance(updated, ExternalInterviewAssessment)
    assert is_snowflake(updated.id) and updated.id != original.interview_assessments[0].id
    assert (updated.external_id, updated.username, updated.conclusion) == ("py-update-1-a", "李四", 2)
    [typed_dimension] = updated.assessment_dimension_list
    assert isinstance(typed_dimension, ExternalInterviewAssessmentDimension)
    assert (typed_dimension.assessment_type, typed_dimension.options) == (3, ["A", "B"])
    [record] = stored(SANDBOX_URL, "py-update-1")
    assert record["interview"]["participate_status"] == 2 and "end_time" not in record["interview"], record

    # An id that does not exist (the SDK percent-encodes it into one path segment).
    missing = update_external_interview(cli, "no/such id", replacement)
    assert_invalid(missing, "external_interview_id", "no/such id")


def test_delete_removes_the_interview() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    interview = created(cli, "py-delete-1")
    response = delete_external_interview(cli, interview.id)
    assert_ok(response, "DELETE", f"{INTERVIEWS}/{interview.id}")
    assert isinstance(response, DeleteExternalInterviewResponse)
    assert stored(SANDBOX_URL, "py-delete-1") == []
    gone = batch_query_external_interviews(cli, interview_ids=[interview.id])
    assert gone.code == 0 and gone.data.items == [], (gone.code, gone.msg, gone.data and gone.data.items)
    # A second delete: the id is unknown now.
    again = delete_external_interview(cli, interview.id)
    assert_invalid(again, "external_interview_id", interview.id)


def test_batch_query_pages_with_page_size_and_page_token() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    application = new_application_id()
    ids = [created(cli, f"py-query-{n}", application).id for n in range(5)]

    # By application (query parameters only: the SDK sends no body), two at a time.
    seen: List[str] = []
    pages = 0
    page_token: Optional[str] = None
    while True:
        response = batch_query_external_interviews(cli, application, page_size=2, page_token=page_token)
        assert_ok(response, "POST", f"{INTERVIEWS}/batch_query")
        page = response.data
        assert all(isinstance(item, ExternalInterview) for item in page.items), page.items
        assert len(page.items) <= 2, len(page.items)
        assert all(item.external_application_id == application for item in page.items)
        seen.extend(item.id for item in page.items)
        pages += 1
        if not page.has_more:
            assert page.page_token in (None, ""), page.page_token
            break
        assert page.page_token, "has_more without a page_token"
        page_token = page.page_token
    assert (pages, seen) == (3, ids), (pages, seen, ids)

    # By id list (the body), one known id and one unknown, which is skipped.
    response = batch_query_external_interviews(cli, interview_ids=[ids[3], "7000000000000000000"])
    assert_ok(response, "POST", f"{INTERVIEWS}/batch_query")
    [item] = response.data.items
    assert (item.id, item.external_id, item.participate_status) == (ids[3], "py-query-3", 1)
    [assessment] = item.interview_assessments
    assert isinstance(assessment, ExternalInterviewAssessment) and is_snowflake(assessment.id)
    assert response.data.has_more is False

    # A page_size below 1 is a field violation on the query parameter.
    refused = batch_query_external_interviews(cli, application, page_size=0)
    assert_invalid(refused, "page_size", "0")


def test_create_assessment_attaches_it_to_the_interview() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    interview = created(cli, "py-assess-1")
    dimension = ExternalInterviewAssessmentDimension.builder().assessment_type(1).title("Coding").score(4).build()
    assessment = (
        ExternalInterviewAssessment.builder()
        .external_id("py-assess-1-b")
        .username("王五")
        .conclusion(3)
        .assessment_dimension_list([dimension])
        .content("second round")
        .external_interview_id(interview.id)
        .build()
    )
    response = create_external_interview_assessment(cli, assessment)
    assert_ok(response, "POST", ASSESSMENTS)
    made = response.data.external_interview_assessment
    assert isinstance(made, ExternalInterviewAssessment)
    assert is_snowflake(made.id), made.id
    assert (made.external_interview_id, made.username, made.conclusion, made.content) == (
        interview.id,
        "王五",
        3,
        "second round",
    )
    [typed_dimension] = made.assessment_dimension_list
    assert (typed_dimension.assessment_type, typed_dimension.title, typed_dimension.score) == (1, "Coding", 4)
    [listed] = batch_query_external_interviews(cli, interview_ids=[interview.id]).data.items
    assert [a.id for a in listed.interview_assessments][-1] == made.id, listed.interview_assessments

    # An assessment for an interview that does not exist.
    orphan = ExternalInterviewAssessment.builder().username("x").external_interview_id("7000000000000000000").build()
    assert_invalid(create_external_interview_assessment(cli, orphan), "external_interview_id", "7000000000000000000")


def test_patch_assessment_changes_only_the_fields_sent() -> None:
    cli = client(SANDBOX_URL, APP_ID, APP_SECRET)
    interview = created(cli, "py-patch-1")
    original = interview.interview_assessments[0]
    change = ExternalInterviewAssessment.builder().conclusion(2).content("revised").build()
    response = patch_external_interview_assessment(cli, original.id, change)
    assert_ok(response, "PATCH", f"{ASSESSMENTS}/{original.id}")
    patched = response.data.external_interview_assessment
    assert isinstance(patched, ExternalInterviewAssessment)
    assert (patched.id, patched.conclusion, patched.content) == (original.id, 2, "revised")
    # What was not sent is kept.
    assert patched.username == original.username == "张三"
    assert [d.title for d in patched.assessment_dimension_list] == ["面试测试"]
    [listed] = batch_query_external_interviews(cli, interview_ids=[interview.id]).data.items
    assert (listed.interview_assessments[0].conclusion, listed.interview_assessments[0].content) == (2, "revised")

    # A value the enum does not list.
    bad = ExternalInterviewAssessment.builder().conclusion(4).build()
    assert_invalid(patch_external_interview_assessment(cli, original.id, bad), "conclusion", "4")


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
    test_update_overwrites_the_interview_and_its_assessments,
    test_delete_removes_the_interview,
    test_batch_query_pages_with_page_size_and_page_token,
    test_create_assessment_attaches_it_to_the_interview,
    test_patch_assessment_changes_only_the_fields_sent,
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
