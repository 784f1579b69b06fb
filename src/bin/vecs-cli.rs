//! vecs-cli: manage the certificate store the way VMware's vecs-cli does.

use std::io::{BufWriter, Write};

fn main() {
    vecsfs::logging::init(
        "vecs-cli",
        vecsfs::logging::Program::Cli,
        log::LevelFilter::Info,
    );
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let stdin = std::io::stdin();
    let mut stdin = stdin.lock();
    let mut stdout = BufWriter::new(std::io::stdout().lock());
    let mut stderr = std::io::stderr().lock();
    let code = vecsfs::cli::run(
        &args,
        &mut vecsfs::cli::Io {
            stdin: &mut stdin,
            stdout: &mut stdout,
            stderr: &mut stderr,
        },
        vecsfs::users::current_uid(),
    );
    let _ = stdout.flush();
    std::process::exit((code & 0xFF) as i32);
}
