//! A service README's table of variables, checked against the binary's
//! `--help` so that the two cannot drift apart.
//!
//! The README holds the table between `<!-- variables:begin -->` and
//! `<!-- variables:end -->`; [`assert_readme_lists_variables`] renders the
//! table from `--help` and fails, printing the expected table, when the
//! README's differs.

use std::path::Path;
use std::process::Command;

/// One environment variable a binary reads, as its `--help` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// The variable's name (`PORT`).
    pub name: String,
    /// Its default, when it has one.
    pub default: Option<String>,
    /// The first line of its help text.
    pub meaning: String,
}

/// The variables in a clap long help (`--help`), in the order shown.
pub fn variables_in_help(help: &str) -> Vec<Variable> {
    let mut out = Vec::new();
    let mut meaning: Option<String> = None;
    let mut pending: Option<Variable> = None;
    for line in help.lines() {
        let text = line.trim();
        let is_option = line.starts_with("  ") && (text.starts_with("--") || text.starts_with('-'));
        if is_option && !text.starts_with("- ") {
            out.extend(pending.take());
            meaning = None;
        } else if let Some(rest) = text.strip_prefix("[env: ") {
            let name = rest.split(['=', ']']).next().unwrap_or_default().to_owned();
            pending = Some(Variable {
                name,
                default: None,
                meaning: meaning.clone().unwrap_or_default(),
            });
        } else if let Some(rest) = text.strip_prefix("[default: ") {
            if let Some(v) = pending.as_mut() {
                v.default = Some(rest.trim_end_matches(']').to_owned());
            }
        } else if meaning.is_none() && !text.is_empty() {
            meaning = Some(text.to_owned());
        }
    }
    out.extend(pending);
    out
}

/// The Markdown table of `variables`.
pub fn table(variables: &[Variable]) -> String {
    let mut out = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for v in variables {
        let default = v.default.as_deref().map_or("—".to_owned(), |d| format!("`{d}`"));
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            v.name,
            default,
            v.meaning.replace('|', "\\|")
        ));
    }
    out
}

/// Run `binary --help` with an empty environment and check that `readme`
/// holds exactly the table of the variables it lists, between the markers.
pub fn assert_readme_lists_variables(binary: &str, readme: &Path) {
    let out = Command::new(binary)
        .arg("--help")
        .env_clear()
        // When clap's `wrap_help` is compiled in (goose, in the load
        // generator, turns it on for the whole workspace build), help text
        // wraps at COLUMNS, or at 100 columns without a terminal: keep each
        // description on one line.
        .env("COLUMNS", "100000")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {binary}: {e}"));
    assert!(out.status.success(), "{binary} --help failed");
    let help = String::from_utf8_lossy(&out.stdout);
    let variables = variables_in_help(&help);
    assert!(!variables.is_empty(), "no variables found in {binary} --help");
    let expected = table(&variables);
    let text = std::fs::read_to_string(readme).unwrap_or_else(|e| panic!("{}: {e}", readme.display()));
    let found = text
        .split_once("<!-- variables:begin -->\n")
        .and_then(|(_, rest)| rest.split_once("<!-- variables:end -->"))
        .map(|(table, _)| table);
    assert_eq!(
        found,
        Some(expected.as_str()),
        "{} must list every variable of `--help` between <!-- variables:begin --> and <!-- variables:end -->; \
         the table should read:\n\n{expected}",
        readme.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "Usage: x [OPTIONS]

Options:
      --host <HOST>
          Address to listen on
          
          [env: HOST=]
          [default: 0.0.0.0]

      --log-format <LOG_FORMAT>
          Log format: json or pretty

          Possible values:
          - json:   One JSON object per line
          - pretty: Human readable
          
          [env: LOG_FORMAT=]
          [default: json]

      --healthcheck
          Probe and exit

      --jwks-url <JWKS_URL>
          The users service's JWK Set URL | cached
          
          [env: JWKS_URL=]

  -h, --help
          Print help (see a summary with '-h')
";

    #[test]
    fn variables_with_defaults_and_meanings_are_read_from_help() {
        let vars = variables_in_help(HELP);
        let names: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["HOST", "LOG_FORMAT", "JWKS_URL"],
            "flags without a variable are left out"
        );
        assert_eq!(vars[0].default.as_deref(), Some("0.0.0.0"));
        assert_eq!(vars[1].meaning, "Log format: json or pretty");
        assert_eq!(vars[2].default, None);
        let rendered = table(&vars);
        assert!(
            rendered.contains("| `JWKS_URL` | — | The users service's JWK Set URL \\| cached |"),
            "{rendered}"
        );
    }
}
