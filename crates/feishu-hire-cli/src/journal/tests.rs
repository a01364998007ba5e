//! Reading, writing, repairing and binding journals.

use super::*;

fn header(sha: &str) -> JournalHeader {
    JournalHeader {
        journal: JOURNAL_KIND.to_owned(),
        version: JOURNAL_VERSION,
        input: "in.jsonl".to_owned(),
        input_sha256: sha.to_owned(),
        input_bytes: 10,
        target: "http://127.0.0.1:1".to_owned(),
        created_at_ms: 1,
        options: Some(JournalOptions {
            derive_external_id: false,
            strict: false,
            max_record_bytes: 1000,
        }),
    }
}

fn entry(record: u64, result: EntryResult) -> JournalEntry {
    JournalEntry {
        record,
        line: record,
        external_id: Some(format!("id-{record}")),
        result,
        id: None,
        code: None,
        log_id: None,
        reason: None,
        at_ms: 2,
        maybe_twice: false,
        uncertain: false,
        checked: None,
        feishu_ids: Vec::new(),
    }
}

#[test]
fn entries_survive_a_reopen_and_only_confirmed_ones_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut journal = Journal::open(&path).unwrap();
    assert!(journal.header().is_none());
    journal.bind(header("aa")).unwrap();
    let writer = journal.into_writer();
    writer.append(&entry(1, EntryResult::Created)).unwrap();
    writer.append(&entry(2, EntryResult::Failed)).unwrap();
    writer
        .append(&entry(3, EntryResult::AlreadyExists))
        .unwrap();
    writer.close().unwrap();

    let mut journal = Journal::open(&path).unwrap();
    assert_eq!(journal.runs(), 1);
    assert_eq!(journal.confirmed_count(), 2);
    assert!(journal.is_confirmed(1) && !journal.is_confirmed(2) && journal.is_confirmed(3));
    journal.bind(header("aa")).unwrap();
    assert_eq!(journal.runs(), 2);
}

#[test]
fn a_second_open_is_refused_while_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let _first = Journal::open(&path).unwrap();
    assert!(matches!(
        Journal::open(&path),
        Err(JournalError::Locked { .. })
    ));
}

#[test]
fn a_torn_last_line_is_dropped_and_appending_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut text = String::from_utf8(encode_line(&header("aa"))).unwrap();
    text.push_str(&String::from_utf8(encode_line(&entry(1, EntryResult::Created))).unwrap());
    text.push_str(r#"{"record":2,"line":2,"external_id":"id-2","res"#);
    std::fs::write(&path, &text).unwrap();

    let journal = Journal::open(&path).unwrap();
    assert!(journal.repaired_tail());
    assert_eq!(journal.confirmed_count(), 1);
    let writer = journal.into_writer();
    writer.append(&entry(2, EntryResult::Created)).unwrap();
    writer.close().unwrap();

    let journal = Journal::open(&path).unwrap();
    assert!(!journal.repaired_tail());
    assert_eq!(journal.confirmed_count(), 2);
}

#[test]
fn a_complete_last_line_without_newline_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut bytes = encode_line(&header("aa"));
    let mut last = encode_line(&entry(7, EntryResult::Created));
    last.pop();
    bytes.extend(last);
    std::fs::write(&path, &bytes).unwrap();
    let journal = Journal::open(&path).unwrap();
    assert!(journal.is_confirmed(7));
    let writer = journal.into_writer();
    writer.append(&entry(8, EntryResult::Created)).unwrap();
    writer.close().unwrap();
    assert_eq!(Journal::open(&path).unwrap().confirmed_count(), 2);
}

#[test]
fn damage_before_the_last_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut bytes = encode_line(&header("aa"));
    bytes.extend(b"garbage\n");
    bytes.extend(encode_line(&entry(1, EntryResult::Created)));
    std::fs::write(&path, &bytes).unwrap();
    let error = Journal::open(&path).unwrap_err();
    assert!(
        matches!(error, JournalError::Damaged { line: 2, .. }),
        "{error}"
    );
}

#[test]
fn a_single_line_file_that_is_no_journal_is_refused_not_cut() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.jsonl");
    let data = r#"{"external_application_id":"a","external_id":"x"}"#;
    std::fs::write(&path, data).unwrap();
    let error = Journal::open(&path).unwrap_err();
    assert!(
        matches!(error, JournalError::Damaged { line: 1, .. }),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), data);
}

#[test]
fn intents_without_an_answer_and_unchecked_maybe_twice_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut journal = Journal::open(&path).unwrap();
    journal.bind(header("aa")).unwrap();
    let writer = journal.into_writer();
    // 1 answered, 2 in flight at the kill, 3 created maybe twice and never checked,
    // 4 created maybe twice and checked, 5 answered as failed (certainly not created).
    for record in 1..=5 {
        writer.append(&entry(record, EntryResult::Sending)).unwrap();
    }
    writer.append(&entry(1, EntryResult::Created)).unwrap();
    let mut maybe_twice = entry(3, EntryResult::Created);
    maybe_twice.maybe_twice = true;
    writer.append(&maybe_twice).unwrap();
    let mut checked = entry(4, EntryResult::Created);
    checked.maybe_twice = true;
    writer.append(&checked).unwrap();
    checked.checked = Some(Checked::PresentOnce);
    writer.append(&checked).unwrap();
    writer.append(&entry(5, EntryResult::Failed)).unwrap();
    // 6 failed in a way that may have created it, and was not checked; 7 was checked.
    for record in [6, 7] {
        let mut failed = entry(record, EntryResult::Failed);
        failed.uncertain = true;
        writer.append(&failed).unwrap();
    }
    let mut absent = entry(7, EntryResult::Failed);
    absent.uncertain = true;
    absent.checked = Some(Checked::Absent);
    writer.append(&absent).unwrap();
    writer.close().unwrap();

    let journal = Journal::open(&path).unwrap();
    assert_eq!(
        journal.uncertain().iter().copied().collect::<Vec<_>>(),
        [2, 6]
    );
    assert_eq!(journal.unsettled().iter().copied().collect::<Vec<_>>(), [3]);
    assert!(!journal.is_confirmed(2) && journal.is_confirmed(3));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains(r#""record":2,"line":2,"external_id":"id-2","result":"sending""#),
        "{text}"
    );
}

#[test]
fn a_record_number_beyond_the_input_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut bytes = encode_line(&header("aa"));
    bytes.extend(encode_line(&entry(u64::MAX / 2, EntryResult::Created)));
    bytes.extend(encode_line(&entry(1, EntryResult::Created)));
    std::fs::write(&path, &bytes).unwrap();
    let error = Journal::open(&path).unwrap_err();
    assert!(
        matches!(error, JournalError::Damaged { line: 2, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("damaged at line 2"), "{error}");
}

#[test]
fn an_appended_line_is_in_the_file_before_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    let mut journal = Journal::open(&path).unwrap();
    journal.bind(header("aa")).unwrap();
    let writer = journal.into_writer();
    writer.append(&entry(1, EntryResult::Created)).unwrap();
    // No close, no flush: a SIGKILL now must not lose the line.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with(&String::from_utf8(encode_line(&entry(1, EntryResult::Created))).unwrap()),
        "{text}"
    );
    drop(writer);
}

#[test]
fn other_options_are_refused_and_say_which() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    Journal::open(&path).unwrap().bind(header("aa")).unwrap();
    let mut derived = header("aa");
    if let Some(options) = derived.options.as_mut() {
        options.derive_external_id = true;
    }
    let error = Journal::open(&path).unwrap().bind(derived).unwrap_err();
    assert!(
        matches!(
            error,
            JournalError::OtherOptions {
                option: "--derive-external-id",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("--journal NEW_PATH"), "{error}");
    let mut strict = header("aa");
    if let Some(options) = strict.options.as_mut() {
        options.strict = true;
    }
    let error = Journal::open(&path).unwrap().bind(strict).unwrap_err();
    assert!(error.to_string().contains("--strict"), "{error}");
    // Journals of earlier importers carry no options and are not compared.
    let mut old = header("aa");
    old.options = None;
    Journal::open(&path).unwrap().bind(old).unwrap();
}

#[test]
fn another_input_or_target_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j");
    Journal::open(&path).unwrap().bind(header("aa")).unwrap();
    let error = Journal::open(&path)
        .unwrap()
        .bind(header("bb"))
        .unwrap_err();
    assert!(matches!(error, JournalError::OtherInput { .. }), "{error}");
    let mut other_target = header("aa");
    other_target.target = "https://open.feishu.cn".to_owned();
    let error = Journal::open(&path)
        .unwrap()
        .bind(other_target)
        .unwrap_err();
    assert!(matches!(error, JournalError::OtherTarget { .. }), "{error}");
}
