//! Running the mount as a service: readiness (`--ready-fd`, sd_notify), the supervisor that
//! brings a dead mount back, the status file behind `vecsfs status`, and the mount table.

pub mod cli_socket;
pub mod mountinfo;
pub mod ready;
pub mod status;
pub mod supervise;

/// Whether `pid`'s main thread has ended (`Z` zombie or `X` dead in /proc/<pid>/stat), though
/// the pid is still taken: the process no longer does anything. `false` when the pid is gone
/// or cannot be read.
fn leader_is_dead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // `pid (comm) state ...`: comm may hold spaces and parentheses; the state follows
            // the last `)`.
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|s| s == "Z" || s == "X")
        })
        .unwrap_or(false)
}
