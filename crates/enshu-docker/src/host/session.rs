//! Ending a terminal's processes from the host: every process of the TTY
//! session a terminal's exec leads, hung up and then killed.
//!
//! The engine has no verb to stop an exec, and closing its attach stream
//! leaves the shell running (a TTY keeps it alive), so the web terminal
//! (`crate::terminal`) ends its shell here. Done from the host rather than
//! by an exec in the container, so it works even when the team used up the
//! container's pids limit or stopped its own tools. A process is signalled
//! only while `/proc/<pid>/cgroup` names the container and its session is
//! the exec's (host PIDs: this process reads the host's `/proc`), so a
//! recycled PID outside the container is never touched.
//!
//! A process that left the session (`setsid`) is not found: what the
//! invariant covers is what the terminal itself started.

use std::time::Duration;

/// How long processes get after the hang-up before they are killed.
const HANG_UP_GRACE: Duration = Duration::from_millis(500);

/// The session id of a `/proc/<pid>/stat` line: the sixth field, counted
/// after the command name, which may itself hold spaces and parentheses.
pub fn session_of_stat(stat: &str) -> Option<i64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // state ppid pgrp session
    after_name.split_whitespace().nth(3)?.parse().ok()
}

/// Host PIDs of the processes of session `leader` in container `container_id`.
pub fn session_processes(container_id: &str, leader: i64) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            session_of_stat(&stat) == Some(leader)
                && std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                    .is_ok_and(|cgroup| super::cgroup_names_container(&cgroup, container_id))
        })
        .collect()
}

/// Hang up every process of session `leader` in the container, then kill
/// what is left after [`HANG_UP_GRACE`]; returns how many there were.
pub async fn end_session(container_id: &str, leader: i64) -> usize {
    let found = session_processes(container_id, leader);
    for pid in &found {
        signal(*pid, libc::SIGHUP);
        signal(*pid, libc::SIGCONT);
    }
    let deadline = tokio::time::Instant::now() + HANG_UP_GRACE;
    loop {
        let left = session_processes(container_id, leader);
        if left.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            for pid in left {
                signal(pid, libc::SIGKILL);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    found.len()
}

fn signal(pid: i32, signal: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of this
    // process; `pid` is positive (parsed from a /proc entry name), so it
    // names one process, never a group or every process.
    let _ = unsafe { libc::kill(pid, signal) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_session_is_read_after_the_command_name_even_with_spaces_and_parentheses() {
        assert_eq!(
            session_of_stat("4242 (bash) S 4200 4242 4242 34816 4242 4194560"),
            Some(4242)
        );
        assert_eq!(
            session_of_stat("77 (evil ) 1 2 3 (x) S 1 70 71 0"),
            Some(71)
        );
        assert_eq!(session_of_stat("garbage"), None);
    }
}
