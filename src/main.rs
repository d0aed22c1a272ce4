//! The `hubctl` binary: parse the command line, run it, print errors once.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The one place the environment is read for the library (the CGI and hook entry points
    // read their own protocol variables).
    hubctl::core::env::install(hubctl::core::env::Environment::capture());
    let mut args = std::env::args_os();
    // git runs hubctl's hook shims (symlinks to this binary) by their hook name.
    if let Some(hook) = args
        .next()
        .and_then(|argv0| hubctl::git::hooks::hook_name_from_argv0(&argv0))
    {
        return hubctl::git::hooks::run(hook, &args.collect::<Vec<_>>());
    }
    // A shell completion script asking for candidates (HUBCTL_COMPLETE=SHELL): answer and exit.
    hubctl::commands::docs::complete_if_asked();
    // A CGI server (fcgiwrap, Apache) runs the program without arguments: that is `hubctl cgi`.
    let argv: Vec<_> = std::env::args_os().collect();
    let cgi_mode = argv.len() == 1 && std::env::var_os("GATEWAY_INTERFACE").is_some();
    let cli = if cgi_mode {
        // A bad setting in the web server's environment must still produce an HTTP answer.
        match hubctl::cli::CgiCli::try_parse_from([argv[0].clone()]) {
            Ok(cli) => cli.into(),
            Err(e) => {
                let message = e.to_string();
                eprintln!("hubctl: {}", message.trim());
                hubctl::transport::http::cgi::write_error(
                    500,
                    message.lines().next().unwrap_or_default(),
                );
                return ExitCode::FAILURE;
            }
        }
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
