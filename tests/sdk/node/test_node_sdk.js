// Feishu's official Node SDK (@larksuiteoapi/node-sdk 1.74.0), unchanged, against the sandbox.
//
// The SDK is configured as a user configures it for Feishu, with the sandbox's base URL as its
// domain; nothing in it is patched. Run by tests/sdk/run.sh, which installs the SDK under
// target/sdk-node (found through NODE_PATH), starts the sandboxes and sets:
//
//   SANDBOX_URL, SANDBOX_APP_ID, SANDBOX_APP_SECRET
//       a sandbox that accepts only that app (default token lifetime, rate limit off)
//   SANDBOX_TTL_URL, SANDBOX_TTL_APP_ID, SANDBOX_TTL_APP_SECRET
//       a sandbox whose tokens live 1 s, for the token refresh
//
// Prints one line per test and, last, `SUMMARY <passed> <failed>`; exits 1 if any test failed.
'use strict';

const assert = require('node:assert/strict');
const lark = require('@larksuiteoapi/node-sdk');
const sdkPackage = require('@larksuiteoapi/node-sdk/package.json');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/sdk/run.sh)`);
  return value;
};
const SANDBOX_URL = env('SANDBOX_URL');
const APP_ID = env('SANDBOX_APP_ID');
const APP_SECRET = env('SANDBOX_APP_SECRET');
const TTL_URL = env('SANDBOX_TTL_URL');
const TTL_APP_ID = env('SANDBOX_TTL_APP_ID');
const TTL_APP_SECRET = env('SANDBOX_TTL_APP_SECRET');

const APPLICATION_ID = '6960663240925956437';

// The sandbox's own inspection endpoints, read with Node's fetch, not the SDK.
async function sandboxJson(base, path, body, headers = {}) {
  const init = body === undefined
    ? { headers }
    : { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } };
  const response = await fetch(base + path, init);
  return { status: response.status, body: await response.json() };
}
const stats = async (base) => (await sandboxJson(base, '/sandbox/stats')).body;
const stored = async (base, externalId) =>
  (await sandboxJson(base, `/sandbox/external_interviews?external_id=${externalId}`)).body.external_interviews;

// The SDK logs failed requests; keep its messages for the report of a failing test instead of
// printing them between the results.
const sdkLog = [];
const quietLogger = Object.fromEntries(
  ['error', 'warn', 'info', 'debug', 'trace'].map((level) => [level, (...msg) => sdkLog.push([level, ...msg])]),
);

/** A client configured as for Feishu, with the sandbox as its domain. */
function client(base, appId, appSecret) {
  return new lark.Client({ appId, appSecret, domain: base, logger: quietLogger, loggerLevel: lark.LoggerLevel.error });
}

// ---- one function per operation of the external-interview resource ----
// Typed calls resolve to the response body only (the SDK drops the headers).

function createExternalInterview(cli, data) {
  return cli.hire.v1.externalInterview.create({ data });
}

function updateExternalInterview(cli, interviewId, data) {
  return cli.hire.v1.externalInterview.update({ path: { external_interview_id: interviewId }, data });
}

function deleteExternalInterview(cli, interviewId) {
  return cli.hire.v1.externalInterview.delete({ path: { external_interview_id: interviewId } });
}

/** `params`: external_application_id, page_size, page_token; `data`: external_interview_id_list. */
function batchQueryExternalInterviews(cli, params = {}, data = {}) {
  return cli.hire.v1.externalInterview.batchQuery({ params, data });
}

/** The SDK's own pager: an async iterable of pages (`{ items }`), following page_token. */
function batchQueryExternalInterviewsWithIterator(cli, params = {}, data = {}) {
  return cli.hire.v1.externalInterview.batchQueryWithIterator({ params, data });
}

function createExternalInterviewAssessment(cli, data) {
  return cli.hire.v1.externalInterviewAssessment.create({ data });
}

function patchExternalInterviewAssessment(cli, assessmentId, data) {
  return cli.hire.v1.externalInterviewAssessment.patch({
    path: { external_interview_assessment_id: assessmentId },
    data,
  });
}

/**
 * The same create through the SDK's generic `request`, asking for the response headers
 * (`$return_headers`, an option of the SDK's HTTP instance): resolves to `{ data, headers }`.
 */
function createExternalInterviewWithHeaders(cli, data) {
  return cli.request({ method: 'POST', url: '/open-apis/hire/v1/external_interviews', data, $return_headers: true });
}

/** The SDK throws axios' error on a non-2xx answer; returns it (fails if nothing was thrown). */
async function refusal(promise) {
  try {
    await promise;
  } catch (err) {
    assert.ok(err.response, `no HTTP answer: ${err}`);
    return err;
  }
  assert.fail('the request was not refused');
}

// ---- request bodies ----

/** The request example of the official documentation. */
function documentedInterview(externalId, participateStatus = 1) {
  return {
    external_id: externalId,
    external_application_id: APPLICATION_ID,
    participate_status: participateStatus,
    begin_time: 1618500278638,
    end_time: 1618500278639,
    interview_assessments: [
      {
        username: '张三',
        conclusion: 1,
        assessment_dimension_list: [
          {
            score: 99,
            option: '选项1',
            options: ['选项1'],
            content: '不错的面试内容',
            assessment_type: 1,
            title: '面试测试',
            description: '这是一次测试',
          },
        ],
        content: '第一次面试',
      },
    ],
  };
}

const isSnowflake = (value) => typeof value === 'string' && /^[0-9]{19}$/.test(value);

async function createdId(cli, externalId, applicationId = APPLICATION_ID) {
  const response = await createExternalInterview(cli, {
    ...documentedInterview(externalId),
    external_application_id: applicationId,
  });
  assert.equal(response.code, 0, response.msg);
  return response.data.external_interview.id;
}

// ---- tests ----

async function testTheSdkFetchesTheTokenOnceAndCachesIt() {
  const before = await stats(SANDBOX_URL);
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const first = await createExternalInterview(cli, documentedInterview('node-token-1'));
  const second = await createExternalInterview(cli, documentedInterview('node-token-2'));
  const after = await stats(SANDBOX_URL);
  assert.deepEqual([first.code, second.code], [0, 0]);
  assert.equal(after.tokens_issued - before.tokens_issued, 1, 'one token for two calls');
  assert.equal(after.token_failures, before.token_failures);
  assert.equal(after.auth_failures, before.auth_failures);
}

async function testCreateReturnsTheTypedInterviewAndTheLogId() {
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const response = await createExternalInterview(cli, documentedInterview('node-create-1'));
  assert.equal(response.code, 0, response.msg);
  assert.equal(response.msg, 'ok');
  const interview = response.data.external_interview;
  assert.ok(isSnowflake(interview.id), interview.id);
  assert.equal(interview.external_application_id, APPLICATION_ID);
  assert.equal(interview.participate_status, 1);
  assert.deepEqual([interview.begin_time, interview.end_time], [1618500278638, 1618500278639]);
  const [assessment] = interview.interview_assessments;
  assert.ok(isSnowflake(assessment.id) && assessment.id !== interview.id, assessment.id);
  assert.deepEqual([assessment.username, assessment.conclusion, assessment.content], ['张三', 1, '第一次面试']);
  const [dimension] = assessment.assessment_dimension_list;
  assert.deepEqual([dimension.score, dimension.assessment_type, dimension.options], [99, 1, ['选项1']]);
  const [record] = await stored(SANDBOX_URL, 'node-create-1');
  assert.equal(record.interview.id, interview.id);

  // The typed call returns the body only; the generic call shows the log id header.
  const withHeaders = await createExternalInterviewWithHeaders(cli, documentedInterview('node-create-2'));
  assert.equal(withHeaders.data.code, 0, withHeaders.data.msg);
  const logId = withHeaders.headers['x-tt-logid'];
  assert.ok(logId, `no log id in ${JSON.stringify(withHeaders.headers)}`);
  const [record2] = await stored(SANDBOX_URL, 'node-create-2');
  assert.equal(record2.log_id, logId);
}

async function testAValidationErrorNamesTheField() {
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const err = await refusal(createExternalInterview(cli, documentedInterview('node-invalid-1', 9)));
  assert.equal(err.response.status, 400);
  const body = err.response.data;
  assert.equal(body.code, 1002002, body.msg);
  assert.deepEqual(body.error.field_violations.map((v) => [v.field, v.value]), [['participate_status', '9']]);
  assert.ok(body.error.log_id);
  assert.equal(err.response.headers['x-tt-logid'], body.error.log_id);
  assert.deepEqual(await stored(SANDBOX_URL, 'node-invalid-1'), []);
}

async function testTheSdkGetsANewTokenWhenTheOldOneExpired() {
  // A token fetched by hand at the start is refused once its 1 s are over: the expiry is real.
  const fetched = await sandboxJson(TTL_URL, '/open-apis/auth/v3/tenant_access_token/internal', {
    app_id: TTL_APP_ID,
    app_secret: TTL_APP_SECRET,
  });
  assert.deepEqual([fetched.status, fetched.body.code, fetched.body.expire], [200, 0, 1]);
  const oldToken = fetched.body.tenant_access_token;

  const before = await stats(TTL_URL);
  const cli = client(TTL_URL, TTL_APP_ID, TTL_APP_SECRET);
  const first = await createExternalInterview(cli, documentedInterview('node-refresh-1'));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const second = await createExternalInterview(cli, documentedInterview('node-refresh-2'));
  const after = await stats(TTL_URL);

  assert.deepEqual([first.code, second.code], [0, 0]);
  const refused = await sandboxJson(
    TTL_URL,
    '/open-apis/hire/v1/external_interviews',
    { external_id: 'node-refresh-old', external_application_id: APPLICATION_ID },
    { Authorization: `Bearer ${oldToken}` },
  );
  assert.deepEqual([refused.status, refused.body.code], [400, 99991663]);
  // The SDK expires tokens 3 min early, so it fetched one per call and never sent an expired one.
  assert.equal(after.tokens_issued - before.tokens_issued, 2);
  assert.equal(after.auth_failures, before.auth_failures);
}

async function testUpdateReplacesTheInterview() {
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const id = await createdId(cli, 'node-update-1');
  const response = await updateExternalInterview(cli, id, {
    external_id: 'node-update-1',
    external_application_id: APPLICATION_ID,
    participate_status: 2,
    begin_time: 1700000000000,
    interview_assessments: [{ username: '李四', conclusion: 2, content: 'second round' }],
  });
  assert.equal(response.code, 0, response.msg);
  const interview = response.data.external_interview;
  assert.equal(interview.id, id, 'an update keeps the id');
  assert.deepEqual([interview.participate_status, interview.begin_time, interview.end_time], [2, 1700000000000, undefined]);
  const [assessment] = interview.interview_assessments;
  assert.deepEqual([assessment.username, assessment.conclusion, assessment.content], ['李四', 2, 'second round']);
  assert.ok(isSnowflake(assessment.id), assessment.id);
}

async function testBatchQueryPagesThroughAnApplicationAndFindsIds() {
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const application = '7000000000000000002';
  const ids = [];
  for (const n of [0, 1, 2]) ids.push(await createdId(cli, `node-query-${n}`, application));

  const first = await batchQueryExternalInterviews(cli, { external_application_id: application, page_size: 2 });
  assert.equal(first.code, 0, first.msg);
  assert.deepEqual(first.data.items.map((item) => item.id), ids.slice(0, 2));
  assert.ok(first.data.has_more === true && first.data.page_token, JSON.stringify(first.data));
  const second = await batchQueryExternalInterviews(cli, {
    external_application_id: application,
    page_size: 2,
    page_token: first.data.page_token,
  });
  assert.equal(second.code, 0, second.msg);
  assert.deepEqual(second.data.items.map((item) => item.id), ids.slice(2));
  assert.equal(second.data.has_more, false);
  assert.equal(second.data.items[0].interview_assessments[0].username, '张三');

  // The SDK's pager follows page_token to the end.
  const paged = [];
  for await (const page of await batchQueryExternalInterviewsWithIterator(cli, {
    external_application_id: application,
    page_size: 2,
  })) {
    assert.ok(page && Array.isArray(page.items), `a failed page: ${JSON.stringify(page)}`);
    paged.push(page.items.map((item) => item.id));
  }
  assert.deepEqual(paged, [ids.slice(0, 2), ids.slice(2)]);

  const byIds = await batchQueryExternalInterviews(cli, {}, { external_interview_id_list: [ids[2], ids[0]] });
  assert.equal(byIds.code, 0, byIds.msg);
  assert.deepEqual(byIds.data.items.map((item) => item.id).sort(), [ids[0], ids[2]].sort());
}

async function testDeleteRemovesTheInterview() {
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const id = await createdId(cli, 'node-delete-1');
  const response = await deleteExternalInterview(cli, id);
  assert.equal(response.code, 0, response.msg);
  assert.deepEqual(await stored(SANDBOX_URL, 'node-delete-1'), []);
  const found = await batchQueryExternalInterviews(cli, {}, { external_interview_id_list: [id] });
  assert.equal(found.code, 0, found.msg);
  assert.deepEqual(found.data.items || [], []);
}

async function testAssessmentsAreCreatedAndPatched() {
  const cli = client(SANDBOX_URL, APP_ID, APP_SECRET);
  const interviewId = await createdId(cli, 'node-assessed-1');
  const created = await createExternalInterviewAssessment(cli, {
    external_id: 'node-assessment-1',
    external_interview_id: interviewId,
    username: '王五',
    conclusion: 2,
    content: 'good',
    assessment_dimension_list: [{ assessment_type: 1, title: 'Coding', score: 4 }],
  });
  assert.equal(created.code, 0, created.msg);
  const assessment = created.data.external_interview_assessment;
  assert.ok(isSnowflake(assessment.id), assessment.id);
  assert.deepEqual([assessment.external_interview_id, assessment.username, assessment.conclusion], [interviewId, '王五', 2]);
  assert.equal(assessment.assessment_dimension_list[0].score, 4);

  const patched = await patchExternalInterviewAssessment(cli, assessment.id, { conclusion: 1, content: 'changed my mind' });
  assert.equal(patched.code, 0, patched.msg);
  const after = patched.data.external_interview_assessment;
  assert.deepEqual([after.id, after.conclusion, after.content], [assessment.id, 1, 'changed my mind']);
  assert.equal(after.username, '王五', 'a patch changes only the fields sent');

  const err = await refusal(patchExternalInterviewAssessment(cli, assessment.id, { conclusion: 7 }));
  assert.equal(err.response.status, 400);
  assert.equal(err.response.data.code, 1002002);
  assert.deepEqual(err.response.data.error.field_violations.map((v) => v.field), ['conclusion']);
  assert.equal(err.response.headers['x-tt-logid'], err.response.data.error.log_id);
}

const TESTS = [
  testTheSdkFetchesTheTokenOnceAndCachesIt,
  testCreateReturnsTheTypedInterviewAndTheLogId,
  testAValidationErrorNamesTheField,
  testUpdateReplacesTheInterview,
  testBatchQueryPagesThroughAnApplicationAndFindsIds,
  testDeleteRemovesTheInterview,
  testAssessmentsAreCreatedAndPatched,
  testTheSdkGetsANewTokenWhenTheOldOneExpired,
];

async function main() {
  assert.equal(sdkPackage.version, '1.74.0', 'expected @larksuiteoapi/node-sdk 1.74.0');
  let passed = 0;
  let failed = 0;
  for (const test of TESTS) {
    sdkLog.length = 0;
    try {
      await test();
      passed += 1;
      console.log(`ok   node: ${test.name}`);
    } catch (err) {
      failed += 1;
      console.log(`FAIL node: ${test.name}`);
      console.log(`     ${(err && err.stack) || err}`.replace(/\n/g, '\n     '));
      for (const entry of sdkLog) console.log(`     sdk log: ${JSON.stringify(entry).slice(0, 500)}`);
    }
  }
  console.log(`SUMMARY ${passed} ${failed}`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.log(`FAIL node: ${err && err.stack}`);
  console.log('SUMMARY 0 1');
  process.exitCode = 1;
});
