//! Page sizes and page tokens of the batch query.
//!
//! A token names the creation sequence of the last interview a page returned, so the next page
//! starts right after it even if earlier interviews were deleted in between. It is signed with
//! a key drawn when the sandbox starts and bound to the query it came from: a token the
//! sandbox did not issue, one garbled on the way, or one sent with another query is refused
//! rather than read as some other position.

use std::hash::{BuildHasher, RandomState};

use crate::store::QueryFilter;

/// Items per page when the request gives no `page_size`, as Feishu documents.
pub const DEFAULT_PAGE_SIZE: usize = 10;

/// The largest `page_size`, as the spec has it from Feishu's documentation (1 to 20); a size
/// outside the spec's bounds is refused with the other parameter checks.
pub const MAX_PAGE_SIZE: usize = 20;

/// Tokens start with this, so one is recognisable in a log.
const PREFIX: &str = "sbx1.";

/// Issues and reads page tokens.
#[derive(Debug, Default)]
pub(crate) struct PageTokens {
    // Random keys per sandbox: tokens are valid only for the sandbox that issued them.
    keys: RandomState,
}

impl PageTokens {
    /// A token for the page after the item with creation sequence `last`, for `filter`.
    pub(crate) fn issue(&self, last: u64, filter: &QueryFilter) -> String {
        format!("{PREFIX}{last:016x}{:016x}", self.signature(last, filter))
    }

    /// The sequence a token names, if this sandbox issued it for this query.
    pub(crate) fn read(&self, token: &str, filter: &QueryFilter) -> Option<u64> {
        let hex = token.strip_prefix(PREFIX)?;
        // Checked byte by byte first, so slicing below never splits a character.
        if hex.len() != 32 || !hex.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return None;
        }
        let last = u64::from_str_radix(hex.get(..16)?, 16).ok()?;
        let signature = u64::from_str_radix(hex.get(16..)?, 16).ok()?;
        (signature == self.signature(last, filter)).then_some(last)
    }

    fn signature(&self, last: u64, filter: &QueryFilter) -> u64 {
        self.keys.hash_one((last, filter))
    }
}

/// The page size to use for a requested one: the default when absent. `None` for a size
/// outside 1 to [`MAX_PAGE_SIZE`] (the parameter checks refuse those first).
pub(crate) fn page_size(requested: Option<i64>) -> Option<usize> {
    match requested {
        None => Some(DEFAULT_PAGE_SIZE),
        Some(size) => usize::try_from(size)
            .ok()
            .filter(|size| (1..=MAX_PAGE_SIZE).contains(size)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(application: &str) -> QueryFilter {
        QueryFilter {
            external_application_id: Some(application.to_owned()),
            ids: Vec::new(),
        }
    }

    #[test]
    fn a_token_reads_back_only_for_its_query_and_sandbox() {
        let tokens = PageTokens::default();
        let token = tokens.issue(41, &filter("a"));
        assert_eq!(tokens.read(&token, &filter("a")), Some(41));
        assert_eq!(tokens.read(&token, &filter("b")), None);
        assert_eq!(PageTokens::default().read(&token, &filter("a")), None);
    }

    #[test]
    fn garbled_tokens_are_refused_without_panicking() {
        let tokens = PageTokens::default();
        let token = tokens.issue(7, &filter("a"));
        let mut flipped = token.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        let multibyte = format!("{PREFIX}{}", "面".repeat(10) + "ab");
        for garbled in [
            "",
            "x",
            PREFIX,
            &token[..token.len() - 1],
            &format!("{token}0"),
            &flipped,
            &multibyte,
            "sbx1.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "eyJvZmZzZXQiOjEwfQ==",
        ] {
            assert_eq!(tokens.read(garbled, &filter("a")), None, "{garbled:?}");
        }
    }

    #[test]
    fn page_sizes_default_and_bounds() {
        assert_eq!(page_size(None), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(Some(2)), Some(2));
        assert_eq!(page_size(Some(20)), Some(20));
        assert_eq!(page_size(Some(21)), None);
        assert_eq!(page_size(Some(i64::MAX)), None);
        // The bound is the spec's.
        let spec = feishu_hire_types::BATCH_QUERY_EXTERNAL_INTERVIEW
            .query_params
            .iter()
            .find(|param| param.name == "page_size")
            .and_then(|param| param.maximum);
        assert_eq!(spec, Some(MAX_PAGE_SIZE as i64));
        assert_eq!(page_size(Some(0)), None);
        assert_eq!(page_size(Some(-5)), None);
    }
}
