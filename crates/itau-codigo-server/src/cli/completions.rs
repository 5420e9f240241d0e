//! `itau-codigo completions SHELL`: prints the shell's completion script, generated
//! from the same clap definition that parses the command line, so it cannot go stale.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::exit::{EXIT_USAGE, fail};

/// `completions` options.
#[derive(Debug, Args)]
#[command(after_help = "\
Install, for example:
  bash:  itau-codigo completions bash > ~/.local/share/bash-completion/completions/itau-codigo
  zsh:   itau-codigo completions zsh > \"${fpath[1]}/_itau-codigo\"
  fish:  itau-codigo completions fish > ~/.config/fish/completions/itau-codigo.fish
  powershell:  itau-codigo completions powershell | Out-String | Invoke-Expression")]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

pub(super) fn run(args: &CompletionsArgs) -> ExitCode {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "itau-codigo", &mut script);
    // Written in one piece, so that a closed pipe is an error message, not a panic.
    let mut stdout = io::stdout().lock();
    match stdout.write_all(&script).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(EXIT_USAGE, format_args!("cannot write the script: {error}")),
    }
}
