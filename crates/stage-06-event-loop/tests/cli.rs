//! The stage-06 binary's command line: the limit flags every server stage
//! shares, and what it says it does with `--workers`.

use testkit::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_stage-06");

fn start(args: &[&str]) -> ServerProcess {
    ServerProcess::start_in_apps(BIN, args)
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

#[test]
fn it_says_where_it_serves() {
    for (workers, said) in [
        (
            "0",
            "serving wire:application in this process (no master, no worker processes)",
        ),
        ("1", "serving wire:application with 1 worker process\n"),
        ("2", "serving wire:application with 2 worker processes\n"),
    ] {
        let server = start(&["--workers", workers, "wire:application"]);
        let stderr = server.wait_for_stderr("serving");
        assert!(stderr.contains(said), "--workers {workers}: {stderr}");
    }
}
