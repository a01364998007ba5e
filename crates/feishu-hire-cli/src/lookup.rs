//! Reading the target back: every interview of a set of external applications, through the
//! batch-query endpoint, so that `verify` and the end-of-run check of `import` can see what
//! the target holds rather than trust what it answered.
//!
//! Each application is paged through with [`Client::paginate`] (100 per page, the most the
//! endpoint gives), a few applications at a time, through the client's retries and rate
//! limiter, with progress on stderr. What an application holds is handed over as a whole
//! (memory grows with the largest application, not with the input), in no set order.

use std::time::Duration;

use feishu_hire_client::{Client, Error as ClientError};
use feishu_hire_types::BatchQueryExternalInterviewRequest;
use futures::stream::{self, StreamExt, TryStreamExt};

use crate::console::{Console, Progress, ProgressMode};
use crate::import::{Interrupts, interrupted};

/// Items asked for per page: the endpoint's maximum.
pub const PAGE_SIZE: i32 = 100;

/// One interview the target holds, as far as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Feishu's id of the interview.
    pub id: Option<String>,
    /// The `external_id` it was created with, if any.
    pub external_id: Option<String>,
}

/// Every interview of `application`, in the target's order.
pub async fn interviews_of(client: &Client, application: &str) -> Result<Vec<Held>, ClientError> {
    let request = BatchQueryExternalInterviewRequest::new().external_application_id(application);
    client
        .paginate(request)
        .page_size(PAGE_SIZE)
        .items()
        .map_ok(|interview| Held {
            id: interview.id,
            external_id: interview.external_id,
        })
        .try_collect()
        .await
}

/// How a [`Reader::read`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryEnd {
    /// Every application was read (or its error handed over).
    Finished,
    /// Ctrl-C or SIGTERM: the rest was not read.
    Interrupted,
}

/// How applications are read: through which client, how many at a time, with what progress.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    /// The target's client (its retries and rate limiter apply).
    pub client: &'a Client,
    /// Applications read at once.
    pub concurrency: usize,
    /// How progress is shown.
    pub progress: ProgressMode,
    /// Where messages go.
    pub console: &'a Console,
}

impl Reader<'_> {
    /// Reads every application of `applications` (`total` of them) and hands each one's
    /// interviews (or the error that stopped its paging) to `each`, with progress. Stops
    /// early, without waiting for the queries in flight, on an interrupt.
    pub async fn read<F>(
        &self,
        applications: impl IntoIterator<Item = String>,
        total: u64,
        interrupts: &mut Interrupts,
        mut each: F,
    ) -> QueryEnd
    where
        F: FnMut(&str, Result<Vec<Held>, ClientError>),
    {
        let (mut progress, _) =
            Progress::start_counting(self.progress, total, "applications", self.console);
        let mut queries = stream::iter(applications)
            .map(|application| {
                let client = self.client.clone();
                async move {
                    let held = interviews_of(&client, &application).await;
                    (application, held)
                }
            })
            .buffer_unordered(self.concurrency.max(1));
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let end = loop {
            tokio::select! {
                next = queries.next() => match next {
                    Some((application, held)) => {
                        each(&application, held);
                        progress.inc();
                    }
                    None => break QueryEnd::Finished,
                },
                () = interrupted(interrupts) => break QueryEnd::Interrupted,
                _ = ticker.tick() => progress.tick(),
            }
        };
        progress.finish();
        end
    }
}
