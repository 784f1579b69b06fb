//! Running the mount as a service: readiness (`--ready-fd`, sd_notify), the supervisor that
//! brings a dead mount back, the status file behind `vecsfs status`, and the mount table.

pub mod cli_socket;
pub mod mountinfo;
pub mod ready;
pub mod status;
pub mod supervise;
