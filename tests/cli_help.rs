//! The command line as a shell user meets it (issue 12, point 6): each command's --help
//! with its examples, its own options before the global ones and its exit codes; the
//! top-level --help listing every command's exit codes; the README's command table in
//! step with --help; completion scripts that a real bash loads and completes with; the
//! manual pages; -v, -q and ZONEKEEPER_LOG.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::text;

/// Runs the real binary in `cwd` with `vars` set and the caller's ZONEKEEPER_* removed.
pub fn zk_in(args: &[&str], cwd: &Path, vars: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .env_remove("ZONEKEEPER_LOG")
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

/// `zonekeeper ARGS` from the repository's top; its stdout, asserting exit 0.
fn stdout_of(args: &[&str]) -> String {
    let out = zk_in(args, Path::new(env!("CARGO_MANIFEST_DIR")), &[]);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// The commands the top-level --help lists (its "Commands:" section, without `help`).
fn verbs() -> Vec<String> {
    let help = stdout_of(&["--help"]);
    let commands = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section");
    commands
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|v| *v != "help")
        .map(str::to_string)
        .collect()
}

/// The section of `help` under `heading` (up to the next blank line), lines trimmed.
fn section(help: &str, heading: &str) -> Vec<String> {
    help.split(&format!("{heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("no `{heading}` in:\n{help}"))
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

/// A command's exit codes as its --help lists them, on one line: `0 valid; 1 invalid`.
fn exit_codes(verb: &str) -> String {
    let help = stdout_of(&[verb, "--help"]);
    section(&help, "Exit codes:")
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The README's command table: the command (the word after `zonekeeper`) of each row and
/// its exit codes cell.
fn readme_table() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let table = readme
        .split("| command | what it does | exit codes |\n|---|---|---|\n")
        .nth(1)
        .expect("the README's command table");
    table
        .lines()
        .take_while(|l| l.starts_with('|'))
        .map(|row| {
            // cells are split on `|` outside backticks (a command may hold `a\|b`)
            let mut cells = Vec::new();
            let (mut cell, mut code) = (String::new(), false);
            let mut chars = row.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '`' => {
                        code = !code;
                        cell.push(c);
                    }
                    '\\' if chars.peek() == Some(&'|') => {
                        cell.push('|');
                        chars.next();
                    }
                    '|' if !code => cells.push(std::mem::take(&mut cell)),
                    _ => cell.push(c),
                }
            }
            let verb = cells[1]
                .trim()
                .trim_start_matches('`')
                .strip_prefix("zonekeeper ")
                .unwrap_or_else(|| panic!("a row not starting with `zonekeeper …`: {row}"))
                .split(|c: char| c.is_whitespace() || c == '`')
                .next()
                .unwrap()
                .to_string();
            (verb, cells[3].trim().to_string())
        })
        .collect()
}

/// Every command's --help: a line saying what it does, its own options under "Options:"
/// before the shared ones under "Global options:", examples, and exit codes (0 and 1 at
/// least, 1 being an error).
#[test]
fn every_command_help_has_examples_own_options_first_and_exit_codes() {
    let verbs = verbs();
    assert!(verbs.len() >= 17, "{verbs:?}");
    for verb in &verbs {
        let help = stdout_of(&[verb, "--help"]);
        let global = help
            .find("Global options:\n")
            .unwrap_or_else(|| panic!("{verb}: no Global options:\n{help}"));
        let repo = help.find("--repo <REPO>").unwrap();
        assert!(
            repo > global,
            "{verb}: --repo is not under Global options:\n{help}"
        );
        for shared in ["--rev", "--format", "--db", "-v, --verbose", "-q, --quiet"] {
            assert!(
                help[global..].contains(shared),
                "{verb}: {shared} not under Global options:\n{help}"
            );
        }
        let options = help.find("Options:\n").unwrap();
        assert!(
            options < global,
            "{verb}: Options: after Global options:\n{help}"
        );
        assert!(
            help[options..global].contains("-h, --help"),
            "{verb}: its own options first:\n{help}"
        );
        let examples = section(&help, "Examples:");
        assert!(
            examples.iter().any(|l| l.starts_with("zonekeeper ")
                || l.contains(" zonekeeper ")
                || l.starts_with("source <(zonekeeper")),
            "{verb}: no example command line: {examples:?}"
        );
        let codes = exit_codes(verb);
        assert!(
            codes.starts_with("0 ") && codes.contains("; 1 "),
            "{verb}: {codes}"
        );
    }
    // the command's own option is listed before the heading of the shared ones
    let plan = stdout_of(&["plan", "--help"]);
    assert!(plan.find("--detailed-exitcode").unwrap() < plan.find("Global options:").unwrap());
}

/// The top-level --help lists every command's exit codes, each as that command's --help
/// says them, and says how -v, -q and ZONEKEEPER_LOG relate.
#[test]
fn top_level_help_lists_every_exit_code() {
    let help = stdout_of(&["--help"]);
    let listed = help
        .split("Exit codes:")
        .nth(1)
        .expect("Exit codes: at the top");
    let mut blocks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current = None;
    for line in listed.lines().skip(1) {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with("    ") {
            let key: String = current.clone().expect("a command before its codes");
            blocks
                .entry(key)
                .or_default()
                .push(line.split_whitespace().collect::<Vec<_>>().join(" "));
        } else {
            current = Some(line.trim().to_string());
        }
    }
    for verb in verbs() {
        let top = blocks
            .get(&verb)
            .unwrap_or_else(|| panic!("{verb} is not in the top-level Exit codes:\n{help}"))
            .join("; ");
        assert_eq!(top, exit_codes(&verb), "{verb}");
    }
    assert!(
        help.contains("ZONEKEEPER_LOG") && help.contains("wins"),
        "{help}"
    );
}

/// The README's command table and --help agree: every command of --help has a row and
/// every row is a command of --help, and each row's exit codes are its --help's, word for
/// word.
#[test]
fn readme_command_table_matches_help() {
    let verbs = verbs();
    let table = readme_table();
    for verb in &verbs {
        assert!(
            table.iter().any(|(v, _)| v == verb),
            "README's command table has no row for `zonekeeper {verb}`"
        );
    }
    for (verb, codes) in &table {
        assert!(
            verbs.contains(verb),
            "README's command table has `zonekeeper {verb}`, which --help does not list"
        );
        assert_eq!(
            codes,
            &exit_codes(verb),
            "README's exit codes of `zonekeeper {verb}` differ from its --help"
        );
    }
}

/// `completions SHELL` prints a script for each shell clap_complete knows; the bash one,
/// loaded into a real bash, completes commands and a command's options.
#[test]
fn completion_scripts_complete_in_a_real_bash() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["zonekeeper", "validate", "detailed-exitcode"] {
            assert!(script.contains(word), "{shell}: no {word}");
        }
    }
    let bin = env!("CARGO_BIN_EXE_zonekeeper");
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let script = format!(
            "source <('{bin}' completions bash) && COMP_WORDS=({}) && COMP_CWORD={} && COMP_LINE='{line}' && COMP_POINT={} && _zonekeeper zonekeeper '{}' '{}' && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    let commands = complete("zonekeeper pl");
    assert_eq!(commands.trim(), "plan", "{commands}");
    let options = complete("zonekeeper plan --det");
    assert_eq!(options.trim(), "--detailed-exitcode", "{options}");
    let shells = complete("zonekeeper completions f");
    assert_eq!(shells.trim(), "fish", "{shells}");
}

/// `man` prints zonekeeper(1) in roff, which man(1) renders with the commands and the
/// exit codes; `man --dir DIR` writes a page for every command.
#[test]
fn man_pages_render_and_cover_every_command() {
    let page = stdout_of(&["man"]);
    assert!(
        page.contains(".TH zonekeeper 1"),
        "{}",
        &page[..page.len().min(400)]
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("zonekeeper.1"), &page).unwrap();
    let rendered = Command::new("man")
        .arg("-l")
        .arg(dir.path().join("zonekeeper.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", text(&rendered));
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    for want in [
        "zonekeeper-validate(1)",
        "zonekeeper-apply(1)",
        "Exit codes:",
        "--verbose",
    ] {
        assert!(rendered.contains(want), "no {want} in:\n{rendered}");
    }
    assert!(!rendered.contains("\u{1b}["), "escape codes in the page");

    let pages = dir.path().join("pages");
    let out = zk_in(&["man", "--dir", pages.to_str().unwrap()], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for verb in verbs() {
        let file = pages.join(format!("zonekeeper-{verb}.1"));
        let roff =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(roff.contains(&format!(".TH zonekeeper-{verb} 1")), "{verb}");
    }
    assert!(pages.join("zonekeeper.1").exists());
    assert!(pages.join("zonekeeper-show-zone.1").exists());
}

/// A repository with a committed valid desired state (the example's configuration and
/// one zone), and a store path beside it.
fn repo() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("zones")).unwrap();
    // the corpus's configuration: its key in an environment variable, nothing on disk
    std::fs::copy(
        examples.join("../tests/fixtures/schema-corpus/base/zonekeeper.yaml"),
        repo.join("zonekeeper.yaml"),
    )
    .unwrap();
    std::fs::write(
        repo.join("zones/a.test.yaml"),
        "group: default\nrecords:\n  www: { A: 192.0.2.1 }\n",
    )
    .unwrap();
    git2::Repository::init(&repo).unwrap();
    crate::support::commit_all(&repo, "a.test");
    let db = dir.path().join("store.sqlite").display().to_string();
    (dir, db)
}

/// -v logs zonekeeper's info and -vv its debug, -q errors only, ZONEKEEPER_LOG wins over
/// both; -v and -q together are a usage error.
#[test]
fn verbose_quiet_and_zonekeeper_log() {
    let (dir, db) = repo();
    let plan = |flags: &[&str], vars: &[(&str, &str)]| {
        let mut args = vec!["--repo", "repo", "--db", db.as_str(), "plan"];
        args.extend_from_slice(flags);
        // the key's variable set, as plan may read it (never printed)
        let mut vars = vars.to_vec();
        vars.push(("ZONEKEEPER_TSIG_SECRET", "c2VjcmV0"));
        let out = zk_in(&args, dir.path(), &vars);
        assert_eq!(out.status.code(), Some(0), "{flags:?}: {}", text(&out));
        String::from_utf8(out.stderr).unwrap()
    };
    let quiet = plan(&[], &[]);
    assert!(
        !quiet.contains(" INFO ") && !quiet.contains(" DEBUG "),
        "{quiet}"
    );
    let info = plan(&["-v"], &[]);
    assert!(info.contains(" INFO zonekeeper"), "{info}");
    assert!(!info.contains(" DEBUG "), "{info}");
    let debug = plan(&["-vv"], &[]);
    assert!(debug.contains(" DEBUG zonekeeper"), "{debug}");
    let logged = |t: &str| {
        [" INFO ", " DEBUG ", " WARN "]
            .iter()
            .any(|l| t.contains(l))
    };
    let q = plan(&["-q"], &[]);
    assert!(!logged(&q), "{q}");
    // ZONEKEEPER_LOG wins over -v
    let env = plan(&["-v"], &[("ZONEKEEPER_LOG", "error")]);
    assert!(!logged(&env), "{env}");
    // errors still show with -q
    let missing = zk_in(
        &[
            "--repo",
            "repo",
            "--db",
            db.as_str(),
            "-q",
            "plan",
            "--rev",
            "nowhere",
        ],
        dir.path(),
        &[],
    );
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("nowhere"),
        "{}",
        text(&missing)
    );
    let both = zk_in(&["--repo", "repo", "plan", "-v", "-q"], dir.path(), &[]);
    assert_eq!(both.status.code(), Some(1), "{}", text(&both));
}
