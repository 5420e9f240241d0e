//! `cargo xtask lint-openapi`: `schemas/openapi.json` passes Spectral's `spectral:oas`
//! ruleset and Redocly's `recommended` rules with no warning at all. Both linters are
//! npm packages pinned in `tools/openapi-lint/package-lock.json` and installed there
//! with `npm ci` (the npm registry is the only network this needs).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::Value;

pub(crate) const HELP: &str = "\
  lint-openapi [--no-install]
                      lint schemas/openapi.json with Spectral (spectral:oas) and Redocly
                      (recommended), pinned in tools/openapi-lint; fails on any warning.
                      Runs `npm ci` there first unless --no-install
";

pub(crate) fn run(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let install = match args {
        [] => true,
        ["--no-install"] => false,
        _ => bail!("lint-openapi: unexpected arguments {args:?}\n\n{HELP}"),
    };
    let tools = root.join("tools/openapi-lint");
    let document = root.join("schemas/openapi.json");
    if install || !tools.join("node_modules").is_dir() {
        // No install scripts: neither linter needs one, and they would run code the
        // lockfile's hashes do not cover.
        run_checked(
            Command::new("npm").current_dir(&tools).args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
            ]),
            "npm ci in tools/openapi-lint (is Node.js with npm installed?)",
        )?;
    }
    let bin = tools.join("node_modules/.bin");

    println!("== spectral lint (spectral:oas), failing on any result down to hints");
    run_checked(
        Command::new(bin.join("spectral"))
            .current_dir(&tools)
            .args([
                "lint",
                "--fail-severity",
                "hint",
                "--ruleset",
                ".spectral.yaml",
            ])
            .arg(&document),
        "spectral reported problems in schemas/openapi.json",
    )?;

    println!("== redocly lint (recommended), failing on any warning");
    let output = quiet_redocly(Command::new(bin.join("redocly")))
        .current_dir(&tools)
        .args(["lint", "--config", "redocly.yaml", "--format", "json"])
        .arg(&document)
        .output()
        .context("running redocly")?;
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "redocly printed no JSON report (exit {}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    let problems = report["problems"].as_array().cloned().unwrap_or_default();
    for problem in &problems {
        println!(
            "{} {} at {}: {}",
            problem["severity"].as_str().unwrap_or("?"),
            problem["ruleId"].as_str().unwrap_or("?"),
            problem["location"][0]["pointer"].as_str().unwrap_or("?"),
            problem["message"].as_str().unwrap_or("?"),
        );
    }
    println!("redocly: {}", report["totals"]);
    if !problems.is_empty() || !output.status.success() {
        bail!(
            "redocly reported {} problem(s) in schemas/openapi.json",
            problems.len()
        );
    }
    println!("schemas/openapi.json: no warning from spectral or redocly");
    Ok(())
}

/// Redocly's CLI sends usage telemetry and update notices unless told not to.
fn quiet_redocly(mut command: Command) -> Command {
    command
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true");
    command
}

fn run_checked(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {:?}", command.get_program()))?;
    if !status.success() {
        bail!("{what} ({status})");
    }
    Ok(())
}
