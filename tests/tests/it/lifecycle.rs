//! The whole external-interview resource through the client against the sandbox: create,
//! update, query, assessments, delete, with paths, query strings and bodies as the specs say.

use feishu_hire_client::{Client, Delivery};
use feishu_hire_sandbox::{Sandbox, SandboxConfig};
use feishu_hire_types::{
    AssessmentDimensionInput, AssessmentType, BatchQueryExternalInterviewBody,
    BatchQueryExternalInterviewRequest, CreateExternalInterviewAssessmentRequest,
    CreateExternalInterviewRequest, DeleteExternalInterviewRequest, ErrorCode, ExternalInterview,
    InterviewConclusion, ParticipateStatus, PatchExternalInterviewAssessmentBody,
    PatchExternalInterviewAssessmentRequest, UpdateExternalInterviewBody,
    UpdateExternalInterviewRequest,
};
use futures::TryStreamExt;

const APPLICATION: &str = "6960663240925956437";

async fn sandbox() -> Sandbox {
    feishu_hire_sandbox::spawn(SandboxConfig::default().no_rate_limit())
        .await
        .unwrap()
}

fn client(sandbox: &Sandbox) -> Client {
    Client::builder()
        .base_url(sandbox.base_url())
        .app_credentials("cli_test_app", "test-secret")
        .no_rate_limit()
        .build()
        .unwrap()
}

/// Every interview of the application, through the paginator (2 per page, to page).
async fn interviews(client: &Client) -> Vec<ExternalInterview> {
    client
        .paginate(BatchQueryExternalInterviewRequest::new().external_application_id(APPLICATION))
        .page_size(2)
        .items()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn create_update_query_assess_patch_delete() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);

    // Create three, so that the query pages.
    let mut ids = Vec::new();
    for n in 0..3 {
        let request = CreateExternalInterviewRequest::new(APPLICATION)
            .external_id(format!("ats-{n}"))
            .participate_status(ParticipateStatus::Participated)
            .begin_time(1_618_500_278_638 + n);
        let created = client.create_external_interview(&request).await.unwrap();
        ids.push(created.interview().unwrap().id.clone().unwrap());
    }
    let id = ids[0].clone();

    // Update replaces the first.
    let update = UpdateExternalInterviewRequest::new(
        id.as_str(),
        UpdateExternalInterviewBody::new(APPLICATION)
            .external_id("ats-0")
            .participate_status(ParticipateStatus::NoShow)
            .begin_time(1_700_000_000_000),
    );
    let updated = client.send(&update).await.unwrap();
    let stored = updated.data.external_interview.unwrap();
    assert_eq!(stored.id.as_deref(), Some(id.as_str()));
    assert_eq!(stored.participate_status, Some(ParticipateStatus::NoShow));

    // The query finds the new values, and all three, in creation order.
    let listed = interviews(&client).await;
    let listed_ids: Vec<_> = listed.iter().map(|i| i.id.clone().unwrap()).collect();
    assert_eq!(listed_ids, ids);
    assert_eq!(listed[0].begin_time, Some(1_700_000_000_000));
    assert_eq!(
        listed[0].participate_status,
        Some(ParticipateStatus::NoShow)
    );

    // An assessment attaches to the interview; a patch changes what it carries.
    let assessment = CreateExternalInterviewAssessmentRequest::new(id.as_str())
        .external_id("ats-0-a")
        .username("张三")
        .conclusion(InterviewConclusion::ToBeDetermined)
        .assessment_dimension_list([AssessmentDimensionInput::new()
            .assessment_type(AssessmentType::Score)
            .title("Coding")
            .score(3)]);
    let created = client.send(&assessment).await.unwrap();
    let assessment_id = created
        .data
        .external_interview_assessment
        .unwrap()
        .id
        .unwrap();
    let patch = PatchExternalInterviewAssessmentRequest::new(assessment_id.as_str())
        .body(PatchExternalInterviewAssessmentBody::new().conclusion(InterviewConclusion::Pass));
    let patched = client.send(&patch).await.unwrap();
    let patched = patched.data.external_interview_assessment.unwrap();
    assert_eq!(patched.conclusion, Some(InterviewConclusion::Pass));
    assert_eq!(
        patched.username.as_deref(),
        Some("张三"),
        "a patch keeps what it does not carry"
    );

    let by_id =
        client
            .send(&BatchQueryExternalInterviewRequest::new().body(
                BatchQueryExternalInterviewBody::new().external_interview_id_list([id.as_str()]),
            ))
            .await
            .unwrap();
    let interview = &by_id.data.items[0];
    assert_eq!(interview.interview_assessments.len(), 1);
    assert_eq!(
        interview.interview_assessments[0].conclusion,
        Some(InterviewConclusion::Pass)
    );

    // Delete removes it; the query no longer finds it; a second delete is refused as unknown.
    client
        .send(&DeleteExternalInterviewRequest::new(id.as_str()))
        .await
        .unwrap();
    let listed: Vec<_> = interviews(&client)
        .await
        .into_iter()
        .map(|i| i.id.unwrap())
        .collect();
    assert_eq!(listed, ids[1..]);
    let again = client
        .send(&DeleteExternalInterviewRequest::new(id.as_str()))
        .await
        .unwrap_err();
    assert_eq!(again.delivery(), Delivery::Answered);
    assert_eq!(again.error_code(), Some(ErrorCode::InvalidParameter));
    assert!(!again.may_have_taken_effect());
}

#[tokio::test]
async fn a_hostile_id_stays_in_its_path_segment() {
    let sandbox = sandbox().await;
    let client = client(&sandbox);
    for id in [
        "../external_interviews",
        "a/b",
        "x?page_size=1",
        "%2F",
        "面试 1",
    ] {
        let error = client
            .send(&DeleteExternalInterviewRequest::new(id))
            .await
            .unwrap_err();
        // Answered as an unknown id of the delete endpoint, not routed anywhere else.
        assert_eq!(
            error.error_code(),
            Some(ErrorCode::InvalidParameter),
            "{id}: {error}"
        );
    }
    // A dot segment would be resolved away by URL parsers: refused before it is sent.
    for id in [".", ".."] {
        let error = client
            .send(&DeleteExternalInterviewRequest::new(id))
            .await
            .unwrap_err();
        assert_eq!(error.delivery(), Delivery::NotSent, "{id}: {error}");
    }
}
