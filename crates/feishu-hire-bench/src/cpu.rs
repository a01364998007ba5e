//! CPU time from `/proc` (Linux): of a live process, summed over its threads in nanoseconds,
//! and of the children this process has waited for, in clock ticks.
//!
//! The servers run as child processes, so their CPU is read from their own threads while they
//! serve; the bench process itself runs only the load (our client, or plain reqwest), so its
//! own threads' CPU is the client side's.

use std::io;
use std::time::Duration;

/// CPU time of `pid` (`None`: this process): the sum of `/proc/<pid>/task/*/schedstat`'s
/// first field, nanoseconds on the CPU. Threads that ended are not counted; the bench's and
/// the servers' threads live as long as their runtimes.
pub fn process(pid: Option<u32>) -> io::Result<Duration> {
    let dir = match pid {
        Some(pid) => format!("/proc/{pid}/task"),
        None => "/proc/self/task".to_owned(),
    };
    let mut total = 0u64;
    for task in std::fs::read_dir(dir)? {
        let path = task?.path().join("schedstat");
        // A thread may end between listing and reading; it no longer counts.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        total += text
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected schedstat {text:?}")))?;
    }
    Ok(Duration::from_nanos(total))
}

/// CPU time (user + system) of the children this process has waited for: `cutime` and
/// `cstime` of `/proc/self/stat`, in clock ticks of `ticks_per_second`.
pub fn waited_children(ticks_per_second: u64) -> io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The command name (field 2) may contain spaces; the fields after it are plain numbers.
    let after_name = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("unexpected /proc/self/stat"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is index 0 here: cutime is field 16, cstime field 17.
    let ticks = |field: usize| -> io::Result<u64> {
        fields
            .get(field - 3)
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| io::Error::other("unexpected /proc/self/stat"))
    };
    let total = ticks(16)? + ticks(17)?;
    Ok(Duration::from_secs_f64(
        total as f64 / ticks_per_second.max(1) as f64,
    ))
}

/// `getconf CLK_TCK`, else Linux's usual 100.
pub fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100)
}
