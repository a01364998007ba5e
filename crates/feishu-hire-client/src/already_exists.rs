//! Which answers mean "an interview with this `external_id` already exists".
//!
//! Feishu documents that one `external_id` creates at most one interview within 24 hours, but
//! not what it answers to the second request. See the crate docs ("Repeated `external_id`")
//! for why the default recognises nothing.

use std::fmt;
use std::sync::Arc;

type Predicate = dyn Fn(u16, i64, &str) -> bool + Send + Sync;

/// Recognises the answer Feishu gives when a create request repeats an `external_id` it has
/// already stored, so that [`Client::create_external_interview`](crate::Client::create_external_interview)
/// reports [`CreateOutcome::AlreadyExists`](crate::CreateOutcome::AlreadyExists) instead of an error.
///
/// The rule sees only answers with a non-zero `code` to requests that carry an `external_id`
/// (code 0 is always a success, and without an `external_id` nothing can already exist).
/// It matches when the code is one of [`codes`](Self::codes), or when the predicate of
/// [`when`](Self::when) returns `true` for `(HTTP status, code, msg)`.
///
/// The default, [`AlreadyExistsRule::none`], matches nothing, because no such answer is
/// documented.
///
/// ```
/// use feishu_hire_client::AlreadyExistsRule;
///
/// // Once you have seen Feishu's answer to a repeat, name its code…
/// let rule = AlreadyExistsRule::codes([1_002_009]);
/// assert!(rule.matches(400, 1_002_009, "external_id already exists"));
///
/// // …or recognise it by its message.
/// let rule = AlreadyExistsRule::when(|_status, _code, msg| msg.contains("already exist"));
/// assert!(rule.matches(400, 1_002_002, "record already exists"));
/// assert!(!rule.matches(400, 1_002_002, "invalid params"));
/// ```
#[derive(Clone, Default)]
pub struct AlreadyExistsRule {
    codes: Vec<i64>,
    predicate: Option<Arc<Predicate>>,
}

impl AlreadyExistsRule {
    /// Matches nothing: every non-zero code is an error. The default.
    pub fn none() -> Self {
        Self::default()
    }

    /// Matches these codes.
    pub fn codes(codes: impl IntoIterator<Item = i64>) -> Self {
        Self::none().or_codes(codes)
    }

    /// Matches when `predicate(http_status, code, msg)` returns `true`.
    pub fn when(predicate: impl Fn(u16, i64, &str) -> bool + Send + Sync + 'static) -> Self {
        Self::none().or_when(predicate)
    }

    /// Also matches these codes.
    #[must_use]
    pub fn or_codes(mut self, codes: impl IntoIterator<Item = i64>) -> Self {
        self.codes.extend(codes);
        self
    }

    /// Also matches when `predicate(http_status, code, msg)` returns `true`.
    #[must_use]
    pub fn or_when(
        mut self,
        predicate: impl Fn(u16, i64, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.predicate = Some(match self.predicate.take() {
            None => Arc::new(predicate),
            Some(earlier) => Arc::new(move |status: u16, code: i64, msg: &str| {
                earlier(status, code, msg) || predicate(status, code, msg)
            }),
        });
        self
    }

    /// Whether an answer with this HTTP status, non-zero `code` and `msg` means "already exists".
    /// Code 0 never matches.
    pub fn matches(&self, status: u16, code: i64, msg: &str) -> bool {
        code != 0
            && (self.codes.contains(&code)
                || self
                    .predicate
                    .as_ref()
                    .is_some_and(|predicate| predicate(status, code, msg)))
    }

    /// Whether the rule can match anything.
    pub fn is_none(&self) -> bool {
        self.codes.is_empty() && self.predicate.is_none()
    }
}

impl fmt::Debug for AlreadyExistsRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlreadyExistsRule")
            .field("codes", &self.codes)
            .field("predicate", &self.predicate.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matches_nothing() {
        let rule = AlreadyExistsRule::default();
        assert!(rule.is_none());
        assert!(!rule.matches(400, 1_002_002, "already exists"));
    }

    #[test]
    fn codes_and_predicates_combine_with_or() {
        let rule = AlreadyExistsRule::codes([7])
            .or_when(|status, _, _| status == 409)
            .or_when(|_, code, _| code == 8);
        assert!(rule.matches(400, 7, ""));
        assert!(rule.matches(409, 1, ""));
        assert!(rule.matches(400, 8, ""));
        assert!(!rule.matches(400, 9, ""));
        assert!(!AlreadyExistsRule::codes([0]).matches(200, 0, "ok"));
    }
}
