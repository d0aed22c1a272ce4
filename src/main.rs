//! The `hubctl` binary: parse the command line, run it, print errors once.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    // git runs hubctl's hook shims (symlinks to this binary) by their hook name.
    if let Some(hook) = args
        .next()
        .and_then(|argv0| hubctl::git::hooks::hook_name_from_argv0(&argv0))
    {
        return hubctl::git::hooks::run(hook, &args.collect::<Vec<_>>());
    }
    // A CGI server (fcgiwrap, Apache) runs the program without arguments: that is `hubctl cgi`.
    let argv: Vec<_> = std::env::args_os().collect();
    let cli = if argv.len() == 1 && std::env::var_os("GATEWAY_INTERFACE").is_some() {
        hubctl::cli::Cli::parse_from([argv[0].clone(), "cgi".into()])
    } else {
        hubctl::cli::Cli::parse_from(argv)
    };
    match hubctl::commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hubctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}
