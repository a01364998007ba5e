//! Ctrl-C and SIGTERM, counted, for [`crate::import::import`]: the first asks the import to
//! finish what is in flight and stop; the second to stop at once. Only `import` listens; the
//! other commands keep the default, which ends the process.

use tokio::sync::watch;

use crate::import::Interrupts;

/// Starts listening for Ctrl-C (and SIGTERM on Unix) on the current runtime.
pub fn listen() -> Interrupts {
    let (sender, receiver) = watch::channel(0u32);
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        loop {
            #[cfg(unix)]
            let terminated = async {
                match terminate.as_mut() {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let terminated = std::future::pending::<()>();
            tokio::select! {
                result = tokio::signal::ctrl_c() => {
                    if result.is_err() {
                        return;
                    }
                }
                () = terminated => {}
            }
            sender.send_modify(|count| *count += 1);
        }
    });
    receiver
}

/// Interrupts that never come, for commands that keep the default Ctrl-C (the process ends).
pub fn never() -> Interrupts {
    watch::channel(0u32).1
}
