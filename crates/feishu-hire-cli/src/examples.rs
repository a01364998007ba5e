//! The example data in `examples/`, generated deterministically (`feishu-hire gen-examples`;
//! a test checks the committed files equal this output).
//!
//! - [`interviews_jsonl`]: a few hundred realistic records: several interview rounds per
//!   application, varied participation and times, assessments of all four question types,
//!   Chinese and English text, an `external_id` on every record.
//! - [`bad_jsonl`]: the mistakes people really make, between valid lines.
//!
//! [`interview_lines`] makes any number of records (the benchmark uses a million).

use std::io;
use std::path::Path;

use feishu_hire_types::{
    AssessmentDimensionInput, AssessmentType, CreateExternalInterviewRequest,
    ExternalInterviewAssessmentInput, InterviewConclusion, ParticipateStatus,
};

/// Seed of `examples/interviews.jsonl`.
pub(crate) const INTERVIEWS_SEED: u64 = 20_210_415;
/// Records in `examples/interviews.jsonl`.
pub(crate) const INTERVIEWS_COUNT: usize = 300;

/// SplitMix64: a tiny generator whose output never changes between versions (unlike
/// `rand`'s `StdRng`), so the committed examples stay reproducible.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A number in `low..=high`.
    pub(crate) fn between(&mut self, low: i64, high: i64) -> i64 {
        low + self.below((high - low + 1) as u64) as i64
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One item of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const INTERVIEWERS: &[&str] = &[
    "张伟",
    "王芳",
    "李娜",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄晓明",
    "周婷",
    "吴昊",
    "Emily Chen",
    "James Wang",
    "Sarah Li",
    "Michael Zhang",
    "Olivia Liu",
    "David Zhou",
];

const COMMENTS_ZH: &[&str] = &[
    "基础扎实，沟通顺畅，建议进入下一轮。",
    "项目经验丰富，但系统设计深度一般。",
    "算法题完成较好，代码风格清晰。",
    "对业务理解到位，抗压能力强。",
    "表达略显紧张，技术广度不足，暂不推荐。",
    "有带团队经验，期望薪资偏高，需与 HR 确认。",
];

const COMMENTS_EN: &[&str] = &[
    "Strong fundamentals and clear communication; recommend the next round.",
    "Solid project experience, though system design lacked depth.",
    "Solved the coding problem cleanly with good test cases.",
    "Good product sense; asked thoughtful questions about the team.",
    "Struggled with the concurrency questions; not a fit for this level.",
    "Led a team of five before; salary expectations need a check with HR.",
];

const NOTES_ZH: &[&str] = &[
    "候选人介绍了分布式存储项目，能讲清一致性取舍。",
    "现场编码实现 LRU 缓存，边界条件考虑周全。",
    "对 Kubernetes 调度原理有一定了解。",
    "沟通中能主动澄清需求，逻辑清楚。",
];

const NOTES_EN: &[&str] = &[
    "Walked through a payments migration and its rollback plan.",
    "Implemented an LRU cache live, handling edge cases well.",
    "Explained trade-offs between SQL and document stores convincingly.",
    "Asked clarifying questions before designing the API.",
];

const SKILLS: &[&str] = &[
    "Rust",
    "Go",
    "Java",
    "Python",
    "TypeScript",
    "SQL",
    "Kubernetes",
    "Kafka",
];

const STRENGTHS_ZH: &[&str] = &["学习能力强", "沟通清晰", "责任心强", "结果导向", "团队协作"];

/// One question of the bank: its type, title, description.
struct Question {
    kind: AssessmentType,
    title: &'static str,
    description: &'static str,
}

const QUESTIONS: &[Question] = &[
    Question {
        kind: AssessmentType::Score,
        title: "技术能力",
        description: "1-5 分，5 分最高",
    },
    Question {
        kind: AssessmentType::Score,
        title: "Problem solving",
        description: "Score from 1 (weak) to 5 (excellent)",
    },
    Question {
        kind: AssessmentType::Score,
        title: "沟通表达",
        description: "1-5 分",
    },
    Question {
        kind: AssessmentType::SingleChoice,
        title: "是否推荐录用",
        description: "请选择一项",
    },
    Question {
        kind: AssessmentType::SingleChoice,
        title: "Culture fit",
        description: "Pick one",
    },
    Question {
        kind: AssessmentType::FreeText,
        title: "面试记录",
        description: "记录候选人的主要回答",
    },
    Question {
        kind: AssessmentType::FreeText,
        title: "Interview notes",
        description: "What the candidate said and did",
    },
    Question {
        kind: AssessmentType::MultipleChoice,
        title: "Skills shown",
        description: "Select all that apply",
    },
    Question {
        kind: AssessmentType::MultipleChoice,
        title: "优势",
        description: "可多选",
    },
];

fn answer(rng: &mut SplitMix64, question: &Question) -> AssessmentDimensionInput {
    let dimension = AssessmentDimensionInput::new()
        .assessment_type(question.kind)
        .title(question.title)
        .description(question.description);
    match question.kind {
        AssessmentType::Score => dimension.score(rng.between(1, 5) as i32),
        AssessmentType::SingleChoice if question.title == "Culture fit" => {
            dimension.option(*rng.pick(&["Strong", "Medium", "Weak"]))
        }
        AssessmentType::SingleChoice => {
            dimension.option(*rng.pick(&["强烈推荐", "推荐", "待定", "不推荐"]))
        }
        AssessmentType::FreeText if question.title == "Interview notes" => {
            dimension.content(*rng.pick(NOTES_EN))
        }
        AssessmentType::FreeText => dimension.content(*rng.pick(NOTES_ZH)),
        _ => {
            let bank = if question.title == "优势" {
                STRENGTHS_ZH
            } else {
                SKILLS
            };
            let mut chosen: Vec<String> = bank
                .iter()
                .filter(|_| rng.chance(35))
                .map(|s| (*s).to_owned())
                .collect();
            if chosen.is_empty() {
                chosen.push((*rng.pick(bank)).to_owned());
            }
            dimension.options(chosen)
        }
    }
}

fn assessment(rng: &mut SplitMix64) -> ExternalInterviewAssessmentInput {
    let conclusion = match rng.below(10) {
        0..=4 => InterviewConclusion::Pass,
        5..=7 => InterviewConclusion::Fail,
        _ => InterviewConclusion::ToBeDetermined,
    };
    let username = *rng.pick(INTERVIEWERS);
    let english = username.is_ascii();
    let comment = if english {
        rng.pick(COMMENTS_EN)
    } else {
        rng.pick(COMMENTS_ZH)
    };
    let count = rng.between(1, 4) as usize;
    let mut picked: Vec<usize> = Vec::new();
    while picked.len() < count {
        let index = rng.below(QUESTIONS.len() as u64) as usize;
        if !picked.contains(&index) {
            picked.push(index);
        }
    }
    let dimensions: Vec<AssessmentDimensionInput> =
        picked.iter().map(|&i| answer(rng, &QUESTIONS[i])).collect();
    ExternalInterviewAssessmentInput::new()
        .username(username)
        .conclusion(conclusion)
        .content(*comment)
        .assessment_dimension_list(dimensions)
}

/// 2023-01-01T00:00:00+08:00 in milliseconds.
const FIRST_DAY_MS: i64 = 1_672_502_400_000;
const DAY_MS: i64 = 86_400_000;

/// One realistic interview; `index` makes its `external_id` unique.
pub(crate) fn interview(
    rng: &mut SplitMix64,
    id_prefix: &str,
    index: u64,
    application_id: &str,
) -> CreateExternalInterviewRequest {
    let status = match rng.below(20) {
        0..=14 => Some(ParticipateStatus::Participated),
        15..=16 => Some(ParticipateStatus::NotParticipated),
        17..=18 => Some(ParticipateStatus::NoShow),
        _ => None,
    };
    // A working day of 2023-2025, 09:00-17:45 Beijing time, on a quarter hour.
    let day = rng.between(0, 910);
    let quarter = rng.between(0, 35);
    let begin = FIRST_DAY_MS + day * DAY_MS + 9 * 3_600_000 + quarter * 900_000;
    let length_minutes = *rng.pick(&[30_i64, 45, 60, 60, 90]);
    let mut request = CreateExternalInterviewRequest::new(application_id)
        .external_id(format!("{id_prefix}{index:06}"))
        .begin_time(begin);
    if !rng.chance(5) {
        request = request.end_time(begin + length_minutes * 60_000);
    }
    if let Some(status) = status {
        request = request.participate_status(status);
    }
    let assessments: Vec<ExternalInterviewAssessmentInput> = match status {
        Some(ParticipateStatus::Participated) | None => {
            let interviewers = rng.between(0, 3);
            (0..interviewers).map(|_| assessment(rng)).collect()
        }
        _ if rng.chance(30) => vec![
            ExternalInterviewAssessmentInput::new()
                .username(*rng.pick(INTERVIEWERS))
                .conclusion(InterviewConclusion::ToBeDetermined)
                .content(*rng.pick(&[
                    "候选人未到场，已电话联系。",
                    "Candidate did not join; rescheduling.",
                ])),
        ],
        _ => Vec::new(),
    };
    if !assessments.is_empty() {
        request = request.interview_assessments(assessments);
    }
    request
}

/// `count` records as JSON lines (without newlines), from `seed`.
pub fn interview_lines(seed: u64, count: u64, id_prefix: &str) -> impl Iterator<Item = String> {
    let mut rng = SplitMix64::new(seed);
    let mut application = String::new();
    let mut rounds_left = 0;
    let id_prefix = id_prefix.to_owned();
    (1..=count).map(move |index| {
        if rounds_left == 0 {
            // 19-digit ids, like Feishu's.
            application = format!("69{:017}", rng.below(100_000_000_000_000_000));
            rounds_left = rng.between(1, 3);
        }
        rounds_left -= 1;
        let request = interview(&mut rng, &id_prefix, index, &application);
        serde_json::to_string(&request).unwrap_or_default()
    })
}

/// The content of `examples/interviews.jsonl`.
pub fn interviews_jsonl() -> String {
    let mut text = String::new();
    for line in interview_lines(INTERVIEWS_SEED, INTERVIEWS_COUNT as u64, "ats-itv-") {
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// The content of `examples/bad.jsonl`: common mistakes between valid lines. Every record has
/// an `external_id`, so the valid lines can be imported as they are.
pub fn bad_jsonl() -> String {
    let mut valid = interview_lines(7, 6, "bad-demo-");
    let mut next_valid = || valid.next().unwrap_or_default();
    let huge = "面试记录很长。".repeat(4_000);
    let lines: Vec<String> = vec![
        // 1: valid.
        next_valid(),
        // 2: the application id is missing.
        r#"{"external_id":"bad-002","participate_status":2,"begin_time":1618500278638,"end_time":1618503878638}"#.to_owned(),
        // 3: a date instead of a millisecond timestamp.
        r#"{"external_id":"bad-003","external_application_id":"6960663240925956437","begin_time":"2021-04-15","end_time":"2021-04-15"}"#.to_owned(),
        // 4: valid.
        next_valid(),
        // 5: 0 is not a participation status.
        r#"{"external_id":"bad-005","external_application_id":"6960663240925956437","participate_status":0}"#.to_owned(),
        // 6: the status as a string.
        r#"{"external_id":"bad-006","external_application_id":"6960663240925956437","participate_status":"1"}"#.to_owned(),
        // 7: a line cut short by a bad export.
        r#"{"external_id":"bad-007","external_application_id":"6960663240925956437","participate_status":2,"begin_time":1618500278638,"interview_assessments":[{"username":"张三","#.to_owned(),
        // 8: seconds instead of milliseconds (a warning: still sent).
        r#"{"external_id":"bad-008","external_application_id":"6960663240925956438","participate_status":2,"begin_time":1618500278,"end_time":1618503878}"#.to_owned(),
        // 9: a huge free-text field.
        format!(
            r#"{{"external_id":"bad-009","external_application_id":"6960663240925956439","interview_assessments":[{{"username":"李四","content":"{huge}"}}]}}"#
        ),
        // 10: the external_id of line 1 again.
        r#"{"external_id":"bad-demo-000001","external_application_id":"6960663240925956440","participate_status":3}"#.to_owned(),
        // 11: end before begin (a warning: still sent).
        r#"{"external_id":"bad-011","external_application_id":"6960663240925956441","participate_status":2,"begin_time":1618503878638,"end_time":1618500278638}"#.to_owned(),
        // 12: a score question answered with an option (a warning: still sent).
        r#"{"external_id":"bad-012","external_application_id":"6960663240925956442","participate_status":2,"interview_assessments":[{"username":"Emily Chen","conclusion":2,"assessment_dimension_list":[{"assessment_type":1,"title":"Coding","option":"Good"}]}]}"#.to_owned(),
        // 13: the id as a number.
        r#"{"external_id":7396034232747641133,"external_application_id":"6960663240925956443"}"#.to_owned(),
        // 14: a field the API does not take.
        r#"{"external_id":"bad-014","external_application_id":"6960663240925956444","candidate_name":"王小明"}"#.to_owned(),
        // 15: 4 is not a conclusion.
        r#"{"external_id":"bad-015","external_application_id":"6960663240925956445","interview_assessments":[{"username":"王芳","conclusion":4}]}"#.to_owned(),
        // 16: a blank line (ignored).
        String::new(),
        // 17: valid.
        next_valid(),
        // 18: a timestamp in quotes.
        r#"{"external_id":"bad-018","external_application_id":"6960663240925956446","begin_time":"1618500278638"}"#.to_owned(),
        // 19: a whole array on one line.
        r#"[{"external_id":"bad-019","external_application_id":"6960663240925956447"}]"#.to_owned(),
        // 20: a score in quotes.
        r#"{"external_id":"bad-020","external_application_id":"6960663240925956448","interview_assessments":[{"assessment_dimension_list":[{"assessment_type":1,"score":"90"}]}]}"#.to_owned(),
        // 21: valid.
        next_valid(),
    ];
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Writes `interviews.jsonl` and `bad.jsonl` into `dir`.
pub fn write_examples(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("interviews.jsonl"), interviews_jsonl())?;
    std::fs::write(dir.join("bad.jsonl"), bad_jsonl())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_covers_all_question_types() {
        assert_eq!(interviews_jsonl(), interviews_jsonl());
        let text = interviews_jsonl();
        assert_eq!(text.lines().count(), INTERVIEWS_COUNT);
        for kind in 1..=4 {
            assert!(
                text.contains(&format!("\"assessment_type\":{kind}")),
                "{kind}"
            );
        }
        for status in 1..=3 {
            assert!(text.contains(&format!("\"participate_status\":{status}")));
        }
        assert!(text.contains("张") && text.contains("Emily"));
    }
}
