//! Creates one external interview (the example of Feishu's documentation) and prints the outcome.
//!
//! ```sh
//! FEISHU_APP_ID=cli_… FEISHU_APP_SECRET=… \
//!   cargo run -p feishu-hire-client --example create_external_interview -- https://open.feishu.cn
//! ```
//!
//! The argument is the base URL (default Feishu's host); a local sandbox's URL works too.
//! Credentials come from `FEISHU_APP_ID` and `FEISHU_APP_SECRET`, or a fixed token from
//! `FEISHU_TENANT_ACCESS_TOKEN`. A second, optional argument sets the `external_id`.

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use feishu_hire_client::{Client, CreateOutcome};
use feishu_hire_types::{
    AssessmentDimensionInput, AssessmentType, CreateExternalInterviewRequest,
    ExternalInterviewAssessmentInput, HOST_FEISHU, InterviewConclusion, ParticipateStatus,
};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base_url = args.next().unwrap_or_else(|| HOST_FEISHU.to_owned());
    let external_id = args.next().unwrap_or_else(|| {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        format!("example-{millis}")
    });

    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let builder = Client::builder().base_url(&base_url);
    let builder = match (
        env("FEISHU_APP_ID"),
        env("FEISHU_APP_SECRET"),
        env("FEISHU_TENANT_ACCESS_TOKEN"),
    ) {
        (Some(app_id), Some(app_secret), _) => builder.app_credentials(app_id, app_secret),
        (_, _, Some(token)) => builder.tenant_access_token(token),
        _ => {
            eprintln!(
                "No credentials. Set FEISHU_APP_ID and FEISHU_APP_SECRET (a custom app's), or \
                 FEISHU_TENANT_ACCESS_TOKEN. A local sandbox accepts any non-empty values."
            );
            return ExitCode::from(2);
        }
    };
    let client = match builder.build() {
        Ok(client) => client,
        Err(error) => {
            eprintln!("cannot build the client: {error}");
            return ExitCode::from(2);
        }
    };

    let request = CreateExternalInterviewRequest::new("6960663240925956437")
        .external_id(&external_id)
        .participate_status(ParticipateStatus::NotParticipated)
        .begin_time(1_618_500_278_638)
        .end_time(1_618_500_278_639)
        .interview_assessments([ExternalInterviewAssessmentInput::new()
            .username("张三")
            .conclusion(InterviewConclusion::Fail)
            .assessment_dimension_list([AssessmentDimensionInput::new()
                .score(99)
                .option("选项1")
                .options(["选项1".to_owned()])
                .content("不错的面试内容")
                .assessment_type(AssessmentType::Score)
                .title("面试测试")
                .description("这是一次测试")])
            .content("第一次面试")]);

    println!("POST {} (external_id {external_id})", client.base_url());
    match client.create_external_interview(&request).await {
        Ok(CreateOutcome::Created { interview, meta }) => {
            println!(
                "created interview {} (HTTP {}, log id {}, {} attempt(s))",
                interview.id.as_deref().unwrap_or("?"),
                meta.status,
                meta.log_id.as_deref().unwrap_or("-"),
                meta.attempts
            );
            ExitCode::SUCCESS
        }
        Ok(outcome) => {
            println!("already created earlier: {outcome:?}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!(
                "delivery: {}; may have been created: {}",
                error.delivery(),
                error.may_have_been_created()
            );
            ExitCode::FAILURE
        }
    }
}
