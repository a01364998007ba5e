//! The journal's `fsync`s, on a thread of their own: the sending loop asks for one every so
//! many lines and goes on, instead of waiting for the disk (half a millisecond or more on
//! the machines measured, during which no answer was taken and no request sent). It waits only
//! when the sync it asked for last has not even begun, so that at most about two batches of
//! lines are ever unsynced, as when it synced itself. A failed `fsync` is reported by the next
//! append, which then stops the journal, as a failed `fsync` in the loop did.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Wakes the thread: a sync is asked for, or it is to stop.
    wake: Condvar,
    /// Wakes a caller waiting for the thread to begin the sync it asked for.
    began: Condvar,
    /// Set with `failed`: lets every append check for a failure without the lock.
    any_failure: AtomicBool,
}

#[derive(Debug, Default)]
struct State {
    /// A sync was asked for since the last one began.
    requested: bool,
    stop: bool,
    /// The first failure, until an append takes it.
    failed: Option<io::Error>,
    /// Syncs done so far.
    done: u64,
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

    /// The failure of an earlier sync, if one failed (reported once). Cheap: every append
    /// asks.
    pub(super) fn check(&self) -> io::Result<()> {
        if !self.shared.any_failure.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.shared.lock().failed.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }

    /// Asks for a sync of everything written so far; first waits, if the sync asked for last
    /// has not begun yet, until it has. Returns the failure of an earlier sync, if one failed.
    pub(super) fn request(&self) -> io::Result<()> {
        let mut state = self.shared.lock();
        while state.requested && !state.stop && state.failed.is_none() {
            state = self
                .shared
                .began
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
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
            self.began.notify_all();
            let synced = file.sync_data();
            let mut state = self.lock();
            state.done += 1;
            if let Err(error) = synced {
                state.failed.get_or_insert(error);
                self.any_failure.store(true, Ordering::Release);
                self.began.notify_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn requested_syncs_happen_and_stopping_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = File::create(dir.path().join("j")).unwrap();
        let syncer = Syncer::start(file.try_clone().unwrap()).unwrap();
        let shared = Arc::clone(&syncer.shared);
        for _ in 0..3 {
            file.write_all(b"line\n").unwrap();
            syncer.request().unwrap();
        }
        syncer.finish().unwrap();
        // Each request waited for the one before to begin, and stopping runs the last.
        assert_eq!(shared.lock().done, 3);
    }

    #[test]
    fn a_failed_sync_is_reported_by_the_next_append_once() {
        let syncer = Syncer {
            shared: Arc::new(Shared::default()),
            thread: None,
        };
        syncer.check().unwrap();
        syncer.shared.lock().failed = Some(io::Error::other("disk gone"));
        syncer.shared.any_failure.store(true, Ordering::Release);
        assert_eq!(syncer.check().unwrap_err().to_string(), "disk gone");
        syncer.check().unwrap();
        syncer.request().unwrap();
        syncer.shared.lock().failed = Some(io::Error::other("again"));
        assert_eq!(syncer.request().unwrap_err().to_string(), "again");
        syncer.shared.lock().failed = Some(io::Error::other("at the end"));
        assert_eq!(syncer.finish().unwrap_err().to_string(), "at the end");
    }
}
