// Feishu's official Node SDK (@larksuiteoapi/node-sdk 1.74.0), unchanged, against the sandbox.
//
// The SDK is configured as a user configures it for Feishu, with the sandbox's base URL as its
// domain; nothing in it is patched. Run by tests/sdk/run.sh, which installs the SDK under
// target/sdk-node (found through NODE_PATH), starts the sandboxes and sets:
//
//   SANDBOX_URL, SANDBOX_APP_ID, SANDBOX_APP_SECRET
//       a sandbox that accepts only that app (default token lifetime, rate limit off)
//   SANDBOX_LOG
//       the main sandbox's log (one `answered method=… path=… status=… log_id=…` line per
//       answer), to tie the log id an SDK call got to the request the sandbox answered
//   SANDBOX_TTL_URL, SANDBOX_TTL_APP_ID, SANDBOX_TTL_APP_SECRET
//       a sandbox whose tokens live 1 s, for the token refresh
//
// Prints one line per test and, last, `SUMMARY <passed> <failed>`; exits 1 if any test failed.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const axios = require('axios'); // the SDK's own HTTP library, installed with it
const lark = require('@larksuiteoapi/node-sdk');
const sdkPackage = require('@larksuiteoapi/node-sdk/package.json');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/sdk/run.sh)`);
  return value;
};
const SANDBOX_URL = env('SANDBOX_URL');
const SANDBOX_LOG = env('SANDBOX_LOG');
const APP_ID = env('SANDBOX_APP_ID');
const APP_SECRET = env('SANDBOX_APP_SECRET');
const TTL_URL = env('SANDBOX_TTL_URL');
const TTL_APP_ID = env('SANDBOX_TTL_APP_ID');
const TTL_APP_SECRET = env('SANDBOX_TTL_APP_SECRET');

const APPLICATION_ID = '6960663240925956437';
const INTERVIEWS = '/open-apis/hire/v1/external_interviews';
const ASSESSMENTS = '/open-apis/hire/v1/external_interview_assessments';

// Each test that queries by application uses an application of its own: the sandbox is shared.
let nextApplication = 7200000000000000001n;
const newApplicationId = () => String(nextApplication++);

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

/** What the main sandbox answered under `logId`: `[method, path, status]` from its log. */
function answered(logId) {
  assert.ok(logId, 'no log id');
  const pattern = /answered method=(\S+) path=(\S+) status=(\d+) log_id=(\S+)/;
  for (const line of fs.readFileSync(SANDBOX_LOG, 'utf8').split('\n')) {
    const found = pattern.exec(line);
    if (found && found[4] === logId) return [found[1], found[2], Number(found[3])];
  }
  assert.fail(`the sandbox logged no answer with log id ${logId}`);
}

// The SDK logs failed requests; keep its messages for the report of a failing test instead of
// printing them between the results.
const sdkLog = [];
const quietLogger = Object.fromEntries(
  ['error', 'warn', 'info', 'debug', 'trace'].map((level) => [level, (...msg) => sdkLog.push([level, ...msg])]),
);

/** A client configured as for Feishu, with the sandbox as its domain. */
function client(base, appId, appSecret, httpInstance) {
  return new lark.Client({
    appId,
    appSecret,
    domain: base,
    logger: quietLogger,
    loggerLevel: lark.LoggerLevel.error,
    ...(httpInstance ? { httpInstance } : {}),
  });
}

/**
 * The typed calls return only the body, so a user who wants the log id gives the client its
 * own HTTP instance (the `httpInstance` option): this one is the SDK's default (axios, answers
 * unwrapped to the body as `defaultHttpInstance` does) and also keeps each answer's
 * `X-Tt-Logid`. `logIds()` lists `[method, url, logId]` of every answer, errors included.
 */
function loggingHttpInstance() {
  const seen = [];
  const instance = axios.create();
  const keep = (response) => {
    if (response) seen.push([response.config.method.toUpperCase(), response.config.url, response.headers['x-tt-logid']]);
  };
  instance.interceptors.response.use(
    (response) => {
      keep(response);
      return response.config.$return_headers ? { data: response.data, headers: response.headers } : response.data;
    },
    (error) => {
      keep(error.response);
      return Promise.reject(error);
    },
  );
  instance.logIds = () => seen.slice();
  instance.lastLogId = () => (seen.length ? seen[seen.length - 1][2] : undefined);
  return instance;
}

/** A client on the main sandbox that keeps log ids, and its HTTP instance. */
function loggingClient() {
  const http = loggingHttpInstance();
  return { cli: client(SANDBOX_URL, APP_ID, APP_SECRET, http), http };
}

// ---- one function per operation of the external-interview resource ----

/** Creates an interview; resolves to the response body (the SDK returns only the body). */
function createExternalInterview(cli, data) {
  return cli.hire.v1.externalInterview.create({ data });
}

function updateExternalInterview(cli, externalInterviewId, data) {
  return cli.hire.v1.externalInterview.update({ path: { external_interview_id: externalInterviewId }, data });
}

/** The SDK sends `{}` as JSON with a DELETE (its payload's `data` defaults to an object). */
function deleteExternalInterview(cli, externalInterviewId) {
  return cli.hire.v1.externalInterview.delete({ path: { external_interview_id: externalInterviewId } });
}

/** `params`: `external_application_id`, `page_size`, `page_token`; `data`: `external_interview_id_list`. */
function batchQueryExternalInterviews(cli, params, data) {
  return cli.hire.v1.externalInterview.batchQuery({ params, ...(data ? { data } : {}) });
}

/** The SDK's own pager: follows `has_more` / `page_token`, yielding each page's other fields. */
function batchQueryExternalInterviewsWithIterator(cli, params) {
  return cli.hire.v1.externalInterview.batchQueryWithIterator({ params });
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
function documentedInterview(externalId, participateStatus = 1, applicationId = APPLICATION_ID) {
  return {
    external_id: externalId,
    external_application_id: applicationId,
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

/** Creates the documented interview; resolves to the interview the SDK returned. */
async function created(cli, externalId, applicationId = APPLICATION_ID) {
  const response = await createExternalInterview(cli, documentedInterview(externalId, 1, applicationId));
  assert.equal(response.code, 0, response.msg);
  return response.data.external_interview;
}

/** Code 0, `msg` "ok", and the log id of the last answer names that request in the sandbox's log. */
function assertOk(response, http, method, path) {
  assert.deepEqual([response.code, response.msg], [0, 'ok'], JSON.stringify(response));
  assert.deepEqual(answered(http.lastLogId()), [method, path, 200]);
}

/** HTTP 400, 1002002, one field violation on `field` quoting `value`, with the header's log id. */
function assertInvalid(err, field, value) {
  assert.equal(err.response.status, 400);
  const body = err.response.data;
  assert.equal(body.code, 1002002, body.msg);
  assert.deepEqual(body.error.field_violations.map((v) => [v.field, v.value]), [[field, value]]);
  assert.equal(body.error.log_id, err.response.headers['x-tt-logid']);
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

async function testUpdateOverwritesTheInterviewAndItsAssessments() {
  const { cli, http } = loggingClient();
  const original = await created(cli, 'node-update-1');
  const replacement = {
    external_id: 'node-update-1',
    external_application_id: APPLICATION_ID,
    participate_status: 2,
    begin_time: 1700000000000,
    interview_assessments: [
      {
        external_id: 'node-update-1-a',
        username: '李四',
        conclusion: 2,
        assessment_dimension_list: [{ assessment_type: 3, title: 'Design', options: ['A', 'B'] }],
      },
    ],
  };
  const response = await updateExternalInterview(cli, original.id, replacement);
  assertOk(response, http, 'PUT', `${INTERVIEWS}/${original.id}`);
  const interview = response.data.external_interview;
  assert.deepEqual([interview.id, interview.external_id], [original.id, 'node-update-1']);
  assert.deepEqual([interview.participate_status, interview.begin_time], [2, 1700000000000]);
  // A full overwrite: the end time not sent is gone, and so is the old assessment.
  assert.equal(interview.end_time, undefined);
  const [updated] = interview.interview_assessments;
  assert.ok(isSnowflake(updated.id) && updated.id !== original.interview_assessments[0].id, updated.id);
  assert.deepEqual([updated.external_id, updated.username, updated.conclusion], ['node-update-1-a', '李四', 2]);
  assert.deepEqual(updated.assessment_dimension_list, [{ assessment_type: 3, title: 'Design', options: ['A', 'B'] }]);
  const [record] = await stored(SANDBOX_URL, 'node-update-1');
  assert.equal(record.interview.participate_status, 2);

  const err = await refusal(updateExternalInterview(cli, '7000000000000000000', replacement));
  assertInvalid(err, 'external_interview_id', '7000000000000000000');
}

async function testDeleteRemovesTheInterview() {
  const { cli, http } = loggingClient();
  const interview = await created(cli, 'node-delete-1');
  const response = await deleteExternalInterview(cli, interview.id);
  assertOk(response, http, 'DELETE', `${INTERVIEWS}/${interview.id}`);
  assert.deepEqual(await stored(SANDBOX_URL, 'node-delete-1'), []);
  const gone = await batchQueryExternalInterviews(cli, {}, { external_interview_id_list: [interview.id] });
  assert.deepEqual([gone.code, gone.data.items], [0, []]);
  // A second delete: the id is unknown now.
  assertInvalid(await refusal(deleteExternalInterview(cli, interview.id)), 'external_interview_id', interview.id);
}

async function testBatchQueryPagesWithPageSizeAndPageToken() {
  const { cli, http } = loggingClient();
  const application = newApplicationId();
  const ids = [];
  for (let n = 0; n < 5; n += 1) ids.push((await created(cli, `node-query-${n}`, application)).id);

  // By hand: page_size and page_token as query parameters.
  const seen = [];
  let pages = 0;
  let pageToken;
  for (;;) {
    const params = { external_application_id: application, page_size: 2, ...(pageToken ? { page_token: pageToken } : {}) };
    const response = await batchQueryExternalInterviews(cli, params);
    assertOk(response, http, 'POST', `${INTERVIEWS}/batch_query`);
    assert.ok(response.data.items.length <= 2, response.data.items.length);
    assert.ok(response.data.items.every((item) => item.external_application_id === application));
    seen.push(...response.data.items.map((item) => item.id));
    pages += 1;
    if (!response.data.has_more) {
      assert.ok(!response.data.page_token, response.data.page_token);
      break;
    }
    assert.ok(response.data.page_token, 'has_more without a page_token');
    pageToken = response.data.page_token;
  }
  assert.deepEqual([pages, seen], [3, ids]);

  // The SDK's iterator follows has_more / page_token by itself.
  const iterated = [];
  for await (const page of await batchQueryExternalInterviewsWithIterator(cli, {
    external_application_id: application,
    page_size: 2,
  })) {
    assert.ok(page && Array.isArray(page.items), `a page failed: ${JSON.stringify(page)}`);
    iterated.push(...page.items.map((item) => item.id));
  }
  assert.deepEqual(iterated, ids);

  // By id list (the body), one known id and one unknown, which is skipped.
  const byIds = await batchQueryExternalInterviews(cli, {}, { external_interview_id_list: [ids[3], '7000000000000000000'] });
  assertOk(byIds, http, 'POST', `${INTERVIEWS}/batch_query`);
  assert.deepEqual(byIds.data.items.map((item) => [item.id, item.external_id]), [[ids[3], 'node-query-3']]);
  assert.equal(byIds.data.has_more, false);

  // A page_size below 1 is a field violation on the query parameter.
  const err = await refusal(batchQueryExternalInterviews(cli, { external_application_id: application, page_size: 0 }));
  assertInvalid(err, 'page_size', '0');
}

async function testCreateAssessmentAttachesItToTheInterview() {
  const { cli, http } = loggingClient();
  const interview = await created(cli, 'node-assess-1');
  const response = await createExternalInterviewAssessment(cli, {
    external_id: 'node-assess-1-b',
    username: '王五',
    conclusion: 3,
    assessment_dimension_list: [{ assessment_type: 1, title: 'Coding', score: 4 }],
    content: 'second round',
    external_interview_id: interview.id,
  });
  assertOk(response, http, 'POST', ASSESSMENTS);
  const made = response.data.external_interview_assessment;
  assert.ok(isSnowflake(made.id), made.id);
  assert.deepEqual(
    [made.external_interview_id, made.username, made.conclusion, made.content],
    [interview.id, '王五', 3, 'second round'],
  );
  assert.deepEqual(made.assessment_dimension_list, [{ assessment_type: 1, title: 'Coding', score: 4 }]);
  const listed = await batchQueryExternalInterviews(cli, {}, { external_interview_id_list: [interview.id] });
  assert.equal(listed.data.items[0].interview_assessments.at(-1).id, made.id);

  const err = await refusal(
    createExternalInterviewAssessment(cli, { username: 'x', external_interview_id: '7000000000000000000' }),
  );
  assertInvalid(err, 'external_interview_id', '7000000000000000000');
}

async function testPatchAssessmentChangesOnlyTheFieldsSent() {
  const { cli, http } = loggingClient();
  const interview = await created(cli, 'node-patch-1');
  const original = interview.interview_assessments[0];
  const response = await patchExternalInterviewAssessment(cli, original.id, { conclusion: 2, content: 'revised' });
  assertOk(response, http, 'PATCH', `${ASSESSMENTS}/${original.id}`);
  const patched = response.data.external_interview_assessment;
  assert.deepEqual([patched.id, patched.conclusion, patched.content], [original.id, 2, 'revised']);
  // What was not sent is kept.
  assert.equal(patched.username, '张三');
  assert.deepEqual(patched.assessment_dimension_list.map((d) => d.title), ['面试测试']);
  const listed = await batchQueryExternalInterviews(cli, {}, { external_interview_id_list: [interview.id] });
  const [assessment] = listed.data.items[0].interview_assessments;
  assert.deepEqual([assessment.conclusion, assessment.content], [2, 'revised']);

  // A value the enum does not list.
  assertInvalid(await refusal(patchExternalInterviewAssessment(cli, original.id, { conclusion: 4 })), 'conclusion', '4');
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

const TESTS = [
  testTheSdkFetchesTheTokenOnceAndCachesIt,
  testCreateReturnsTheTypedInterviewAndTheLogId,
  testAValidationErrorNamesTheField,
  testUpdateOverwritesTheInterviewAndItsAssessments,
  testDeleteRemovesTheInterview,
  testBatchQueryPagesWithPageSizeAndPageToken,
  testCreateAssessmentAttachesItToTheInterview,
  testPatchAssessmentChangesOnlyTheFieldsSent,
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
