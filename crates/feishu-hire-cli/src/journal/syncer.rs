//! The journal's `fsync`s, on a thread of their own: the sending loop asks for one every so
//! many lines and goes on, instead of waiting for the disk (half a millisecond or more on
//! the machines measured, during which no answer was taken and no request sent). A failed
//! `fsync` is kept and reported by the next append, which then stops the journal, as a failed
//! `fsync` in the loop did.

use std::fs::File;
use std::io;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

/// Syncs one journal file when asked; stops (after a last sync if one was asked) when dropped.
#[derive(Debug)]
pub(super) struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// A sync was asked for since the last one began.
    requested: bool,
    stop: bool,
    /// The first failure, until an append takes it.
    failed: Option<io::Error>,
}

impl Syncer {
    /// A thread that syncs `file` (a handle of the journal's own). `None` if no thread can be
    /// had: the caller then syncs in line.
    pub(super) fn start(file: File) -> Option<Self> {
        let shared = Arc::new(Shared::default());
        let thread = std::thread::Builder::new()
            .name("journal-sync".to_owned())
            .spawn({
                let shared = Arc::clone(&shared);
                move || shared.run(&file)
            })
            .ok()?;
        Some(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Asks for a sync of everything written so far. Returns the failure of an earlier sync,
    /// if one failed.
    pub(super) fn request(&self) -> io::Result<()> {
        let mut state = self.shared.lock();
        if let Some(error) = state.failed.take() {
            return Err(error);
        }
        state.requested = true;
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Stops the thread once it has done what was asked; returns a failure not yet reported.
    pub(super) fn finish(mut self) -> io::Result<()> {
        self.stop();
        match self.shared.lock().failed.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    fn stop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            // A panic there is reported as nothing more than a sync that did not happen: the
            // caller syncs once more when it closes the journal.
            let _ = thread.join();
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn run(&self, file: &File) {
        loop {
            let mut state = self.lock();
            while !state.requested && !state.stop {
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if !state.requested {
                return;
            }
            state.requested = false;
            drop(state);
            if let Err(error) = file.sync_data() {
                let mut state = self.lock();
                state.failed.get_or_insert(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn a_requested_sync_happens_and_stopping_waits_for_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("j")).unwrap();
        let syncer = Syncer::start(file.try_clone().unwrap()).unwrap();
        file.write_all(b"line\n").unwrap();
        syncer.request().unwrap();
        syncer.request().unwrap();
        syncer.finish().unwrap();
    }

    #[test]
    fn a_failed_sync_is_reported_by_the_next_request_once() {
        let syncer = Syncer {
            shared: Arc::new(Shared::default()),
            thread: None,
        };
        syncer.shared.lock().failed = Some(io::Error::other("disk gone"));
        assert_eq!(syncer.request().unwrap_err().to_string(), "disk gone");
        syncer.request().unwrap();
        syncer.shared.lock().failed = Some(io::Error::other("again"));
        assert_eq!(syncer.finish().unwrap_err().to_string(), "again");
    }
}
