//! The stage-06 binary's command line: the limit flags every server stage
//! shares.

use std::path::PathBuf;
use std::process::Command;

use testkit::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

fn start(args: &[&str]) -> ServerProcess {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/apps"));
    ServerProcess::start_command(command)
}

#[test]
fn the_limit_flags_are_applied() {
    for workers in ["0", "1"] {
        let mut args = vec!["--workers", workers];
        args.extend(testkit::SMALL_LIMITS);
        args.push("wire:application");
        let server = start(&args);
        testkit::check_limit_flags(server.addr);
    }
}
