//! Paging through a paginated endpoint as an async stream, as the AWS and Stripe SDKs do.
//!
//! Each page is one [`Client::send`] (with its retries and rate limit); the next request carries
//! the previous answer's `page_token`. The stream ends when the server says `has_more: false`
//! (or gives no token), when the limit is reached, or at the first error, which it yields.

use std::collections::HashSet;

use feishu_hire_types::{Page, Paginated};
use futures::stream::{self, Stream, StreamExt};

use crate::client::Client;
use crate::error::{CallInfo, Error, InvalidResponse};
use crate::request_id::RequestId;

/// Pages of a paginated request; build it with [`Client::paginate`], then take
/// [`items`](Self::items) or [`pages`](Self::pages).
#[derive(Debug)]
#[must_use = "a paginator does nothing until its stream is polled"]
pub struct Paginator<R> {
    client: Client,
    request: R,
    limit: Option<usize>,
}

/// Where the paging is between two pages.
struct State<R> {
    client: Client,
    request: R,
    /// Tokens already asked for: a server that hands one out twice would loop forever.
    seen_tokens: HashSet<String>,
    done: bool,
}

impl<R: Paginated + Send + Sync + 'static> Paginator<R> {
    pub(crate) fn new(client: Client, request: R) -> Self {
        Self {
            client,
            request,
            limit: None,
        }
    }

    /// Asks for `size` items per page (the endpoint's `page_size`).
    pub fn page_size(mut self, size: i32) -> Self {
        self.request.set_page_size(Some(size));
        self
    }

    /// Stops after `items` items, even if more pages remain ([`items`](Self::items) only).
    pub fn limit(mut self, items: usize) -> Self {
        self.limit = Some(items);
        self
    }

    /// The pages, in order; the first error ends the stream after it is yielded.
    pub fn pages(self) -> impl Stream<Item = Result<Page<R::Item>, Error>> + Send
    where
        R::Item: Send,
    {
        let state = State {
            client: self.client,
            request: self.request,
            seen_tokens: HashSet::new(),
            done: false,
        };
        stream::unfold(state, |mut state| async move {
            if state.done {
                return None;
            }
            let answer = match state.client.send(&state.request).await {
                Ok(answer) => answer,
                Err(error) => {
                    state.done = true;
                    return Some((Err(error), state));
                }
            };
            let page = R::into_page(answer.data);
            match page.next_token().map(str::to_owned) {
                None => state.done = true,
                Some(token) if !state.seen_tokens.insert(token.clone()) => {
                    state.done = true;
                    let error = repeated_token(R::ENDPOINT.name, &token, &answer.meta);
                    return Some((Err(error), state));
                }
                Some(token) => state.request.set_page_token(Some(token)),
            }
            Some((Ok(page), state))
        })
    }

    /// Every item of every page, in order, up to the [`limit`](Self::limit).
    pub fn items(self) -> impl Stream<Item = Result<R::Item, Error>> + Send
    where
        R::Item: Send,
    {
        let limit = self.limit.unwrap_or(usize::MAX);
        self.pages()
            .flat_map(|page| match page {
                Ok(page) => stream::iter(page.items.into_iter().map(Ok).collect::<Vec<_>>()),
                Err(error) => stream::iter(vec![Err(error)]),
            })
            .take(limit)
    }
}

/// A server that answers a page token it already gave: following it would never end.
fn repeated_token(endpoint: &'static str, token: &str, meta: &crate::CallMeta) -> Error {
    let call = CallInfo {
        endpoint,
        request_id: RequestId::from_text(&meta.request_id),
        attempts: meta.attempts,
        earlier_attempt_may_have_been_processed: false,
        fetching_token: false,
    };
    Error::InvalidResponse(Box::new(InvalidResponse::new(
        call,
        meta.status,
        meta.log_id.clone(),
        format!(
            "the page token {token:?} was already given by an earlier page; paging would never end"
        ),
        b"",
    )))
}
