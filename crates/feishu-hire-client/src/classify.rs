//! The one place that judges a failed attempt: whether the request may have taken effect, and
//! whether and when it may be sent again.
//!
//! An ordered chain of rules, first match wins (as smithy-rs orders its retry classifiers):
//! what the client itself refused, then the transport, then Feishu's `code` category when the
//! code is known, then the HTTP status. [`Error::may_have_taken_effect`](crate::Error::may_have_taken_effect),
//! [`Error::is_transient`](crate::Error::is_transient) and the client's retry loop all ask
//! [`classify`], so they cannot disagree.

use std::time::Duration;

use feishu_hire_types::ErrorCategory;

use crate::error::Error;

/// Whether a failed request may have changed something on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// It certainly did not: it was never sent, or the server refused it.
    None,
    /// It may have: no answer came, the server failed while handling it, or the answer is one
    /// we cannot read.
    Possible,
}

/// Whether a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Sending it again cannot help (a refusal) or is not ours to decide.
    Never,
    /// Always safe: it had no effect. Wait as the server said (rate limit), else back off.
    Always(Option<Duration>),
    /// Only if the request is safe to repeat (its endpoint is idempotent by method or
    /// read-only, or it carries an idempotency key), since it may have taken effect.
    IfSafe,
}

/// The judgement of one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Classification {
    pub(crate) effect: Effect,
    pub(crate) repeat: Repeat,
}

impl Classification {
    const REFUSED: Self = Self {
        effect: Effect::None,
        repeat: Repeat::Never,
    };
    const SERVER_FAILED: Self = Self {
        effect: Effect::Possible,
        repeat: Repeat::IfSafe,
    };

    fn rate_limited(reset: Option<Duration>) -> Self {
        Self {
            effect: Effect::None,
            repeat: Repeat::Always(reset),
        }
    }

    /// Whether the client may try again, given whether the request is safe to repeat; the
    /// wait the server asked for, if any.
    pub(crate) fn retry(self, safe_to_repeat: bool) -> Option<Option<Duration>> {
        match self.repeat {
            Repeat::Never => None,
            Repeat::Always(wait) => Some(wait),
            Repeat::IfSafe => safe_to_repeat.then_some(None),
        }
    }
}

type Rule = fn(&Error) -> Option<Classification>;

/// The chain, in order.
const RULES: [Rule; 4] = [client_side, transport, by_code_category, by_status];

/// Judges a failed attempt (or a whole call's final error).
pub(crate) fn classify(error: &Error) -> Classification {
    RULES
        .iter()
        .find_map(|rule| rule(error))
        // An answer we cannot place (2xx with a failure code nobody lists, say): it may have
        // been processed, and repeating it is not known to be safe.
        .unwrap_or(Classification {
            effect: Effect::Possible,
            repeat: Repeat::Never,
        })
}

/// Errors that stop before a request is sent for this call: nothing happened, and the
/// client's own retries (of the token fetch) are already spent.
fn client_side(error: &Error) -> Option<Classification> {
    match error {
        _ if error.is_token_error() => Some(Classification::REFUSED),
        Error::InvalidRequest { .. } => Some(Classification::REFUSED),
        _ => None,
    }
}

/// No connection: nothing left this machine. Lost connection or timeout: it may have been
/// processed.
fn transport(error: &Error) -> Option<Classification> {
    match error {
        Error::NotSent(_) => Some(Classification {
            effect: Effect::None,
            repeat: Repeat::Always(None),
        }),
        Error::MaybeSent(_) => Some(Classification::SERVER_FAILED),
        _ => None,
    }
}

/// A code the specs list says what happened, whatever the HTTP status (Feishu answers some
/// refusals with 200 and rate limits of older APIs with 400).
fn by_code_category(error: &Error) -> Option<Classification> {
    let Error::Api(api) = error else {
        return None;
    };
    match api.category() {
        ErrorCategory::RateLimited => Some(Classification::rate_limited(api.rate_limit_reset())),
        ErrorCategory::System => Some(Classification::SERVER_FAILED),
        ErrorCategory::Parameter | ErrorCategory::Auth | ErrorCategory::Permission => {
            Some(Classification::REFUSED)
        }
        _ => None,
    }
}

/// Otherwise the status: 429 is a rate limit, 5xx a server failure, any other 4xx a refusal.
fn by_status(error: &Error) -> Option<Classification> {
    let (status, reset) = match error {
        Error::Api(api) => (api.status(), api.rate_limit_reset()),
        Error::InvalidResponse(invalid) => (invalid.status(), invalid.rate_limit_reset()),
        _ => return None,
    };
    match status {
        429 => Some(Classification::rate_limited(reset)),
        500..=599 => Some(Classification::SERVER_FAILED),
        400..=499 => Some(Classification::REFUSED),
        _ => None,
    }
}
