//! What `--help` says after the options: each command's examples and exit codes, and the
//! top-level list of every command's exit codes. One table, [`VERBS`], feeds both, and the
//! README's command table is checked against what `--help` prints (tests/cli_help.rs).

use clap::builder::styling::{Style, Styles};

/// A command's examples and exit codes.
pub struct Verb {
    /// The command's name, as typed.
    pub name: &'static str,
    /// `(what it does, command line)`, in the order shown.
    pub examples: &'static [(&'static str, &'static str)],
    /// `(code, meaning)`, lowest first.
    pub exit_codes: &'static [(u8, &'static str)],
}

/// The meaning of 1 for every command: an error, a usage error among them.
const ERROR: &str = "an error (a usage error too)";

/// Every command, in the order `--help` lists them.
pub const VERBS: &[Verb] = &[
    Verb {
        name: "validate",
        examples: &[
            (
                "check the committed desired state (HEAD)",
                "zonekeeper validate",
            ),
            (
                "check the files as edited, before committing",
                "zonekeeper validate --worktree",
            ),
            (
                "check another revision, for a program",
                "zonekeeper validate --rev main~1 --format json",
            ),
        ],
        exit_codes: &[
            (0, "valid"),
            (1, "invalid (every problem listed), or an error"),
        ],
    },
    Verb {
        name: "plan",
        examples: &[
            ("what apply would do now", "zonekeeper plan"),
            (
                "save it for `apply FILE`",
                "zonekeeper plan --out plan.json",
            ),
            (
                "in CI: 2 when there is something to do",
                "zonekeeper plan --detailed-exitcode",
            ),
        ],
        exit_codes: &[
            (0, "planned (with --detailed-exitcode: nothing to do)"),
            (1, ERROR),
            (
                2,
                "with --detailed-exitcode: something to do (a zone change, a staged operation, recorded drift)",
            ),
        ],
    },
    Verb {
        name: "apply",
        examples: &[
            ("show the plan, ask, then carry it out", "zonekeeper apply"),
            (
                "carry out a saved plan without asking",
                "zonekeeper apply plan.json --auto-approve",
            ),
            (
                "also delete zones whose files are gone",
                "zonekeeper apply --allow-delete",
            ),
        ],
        exit_codes: &[
            (0, "applied and verified on every server waited for"),
            (
                1,
                "an error, an incomplete apply (run it again), or cancelled at the prompt",
            ),
            (
                3,
                "an operation waits at a gate (a time, a confirmation, the parent)",
            ),
            (
                130,
                "interrupted (SIGINT or SIGTERM) after the current step, which is recorded",
            ),
        ],
    },
    Verb {
        name: "status",
        examples: &[
            (
                "the lock, servers, operations and last apply",
                "zonekeeper status",
            ),
            (
                "the same against a team's PostgreSQL store",
                "zonekeeper --db postgres://zk@db/zonekeeper status",
            ),
        ],
        exit_codes: &[(0, "shown"), (1, ERROR)],
    },
    Verb {
        name: "check",
        examples: &[
            (
                "ask every server about each of its zones now",
                "zonekeeper check",
            ),
            (
                "gently, with a longer timeout",
                "zonekeeper check --window 16 --timeout-ms 3000",
            ),
        ],
        exit_codes: &[
            (0, "every server OK"),
            (1, ERROR),
            (2, "a server is not OK (RETRY or BROKEN)"),
        ],
    },
    Verb {
        name: "maintenance",
        examples: &[
            (
                "take ns2 out before its reboot",
                "zonekeeper maintenance ns2 on",
            ),
            (
                "bring it back; the next sweep verifies it",
                "zonekeeper maintenance ns2 off",
            ),
        ],
        exit_codes: &[
            (0, "done"),
            (1, "not a secondary of the applied fleet, or an error"),
        ],
    },
    Verb {
        name: "show",
        examples: &[
            (
                "one zone: desired, recorded, served",
                "zonekeeper show zone example.com",
            ),
            (
                "a plan saved by `plan --out`",
                "zonekeeper show plan plan.json",
            ),
        ],
        exit_codes: &[
            (0, "shown"),
            (1, "an unknown zone, a file that is not a plan, or an error"),
        ],
    },
    Verb {
        name: "confirm",
        examples: &[(
            "pass step 3 of operation 12 once the registrar publishes",
            "zonekeeper confirm 12 3",
        )],
        exit_codes: &[
            (0, "confirmed"),
            (1, "refused, cancelled at the prompt, or an error"),
        ],
    },
    Verb {
        name: "reset",
        examples: &[(
            "let the next apply try operation 12's step again",
            "zonekeeper reset 12 --yes",
        )],
        exit_codes: &[
            (0, "reset"),
            (1, "refused, cancelled at the prompt, or an error"),
        ],
    },
    Verb {
        name: "cancel",
        examples: &[("drop operation 12", "zonekeeper cancel 12")],
        exit_codes: &[
            (0, "cancelled"),
            (1, "refused, cancelled at the prompt, or an error"),
        ],
    },
    Verb {
        name: "unlock",
        examples: &[(
            "remove the lock of an apply that died (id from `status`)",
            "zonekeeper unlock 3f9a1c2e4b5d6e7f",
        )],
        exit_codes: &[
            (0, "removed"),
            (
                1,
                "refused (another lock id), cancelled at the prompt, or an error",
            ),
        ],
    },
    Verb {
        name: "watch",
        examples: &[
            (
                "the daemon, with Prometheus metrics",
                "zonekeeper watch --metrics 127.0.0.1:9153",
            ),
            (
                "look at the branch every 10 s, and log more",
                "zonekeeper -v watch --poll 10",
            ),
        ],
        exit_codes: &[(0, "stopped by SIGTERM or SIGINT"), (1, ERROR)],
    },
    Verb {
        name: "drift",
        examples: &[
            (
                "compare every recorded zone with the primary",
                "zonekeeper drift",
            ),
            (
                "only two zones",
                "zonekeeper drift --zone example.com --zone example.net",
            ),
        ],
        exit_codes: &[
            (0, "no drift"),
            (1, ERROR),
            (2, "drift (shown and recorded)"),
        ],
    },
    Verb {
        name: "import",
        examples: &[
            (
                "a zone as the primary serves it",
                "zonekeeper import --zone example.com --from-primary",
            ),
            (
                "every primary zone of a BIND server",
                "zonekeeper import --named-conf /etc/bind/named.conf",
            ),
            (
                "a catalog's zones by transfer",
                "zonekeeper import --axfr 192.0.2.1 --tsig-key-file key.conf --catalog catalog.example.",
            ),
        ],
        exit_codes: &[
            (0, "every zone imported"),
            (1, "a zone not imported (every problem listed), or an error"),
        ],
    },
    Verb {
        name: "hook",
        examples: &[
            (
                "hooks/pre-receive of the bare repository",
                "exec zonekeeper --repo \"$GIT_DIR\" hook pre-receive --branch main",
            ),
            (
                "hooks/post-receive",
                "exec zonekeeper --repo \"$GIT_DIR\" hook post-receive",
            ),
        ],
        exit_codes: &[
            (0, "accepted, or applied"),
            (1, "refused (an invalid revision), failed, or an error"),
        ],
    },
    #[cfg(feature = "lab")]
    Verb {
        name: "lab",
        examples: &[
            (
                "start a BIND lab shaped after zonekeeper.yaml, in .zonekeeper/lab",
                "zonekeeper lab up",
            ),
            ("stop it", "zonekeeper lab down"),
        ],
        exit_codes: &[(0, "done"), (1, ERROR)],
    },
    Verb {
        name: "completions",
        examples: &[
            (
                "bash, for this shell",
                "source <(zonekeeper completions bash)",
            ),
            (
                "zsh, installed",
                "zonekeeper completions zsh > \"${fpath[1]}/_zonekeeper\"",
            ),
            (
                "fish, installed",
                "zonekeeper completions fish > ~/.config/fish/completions/zonekeeper.fish",
            ),
        ],
        exit_codes: &[(0, "printed"), (1, ERROR)],
    },
    Verb {
        name: "man",
        examples: &[
            ("read the manual page now", "zonekeeper man | man -l -"),
            (
                "install a page per command",
                "zonekeeper man --dir /usr/local/share/man/man1",
            ),
        ],
        exit_codes: &[(0, "printed or written"), (1, ERROR)],
    },
];

/// The styles clap gives its own headings, for ours to look the same.
fn heading() -> Style {
    *Styles::default().get_header()
}

/// The verb named `name`.
fn verb(name: &str) -> Option<&'static Verb> {
    VERBS.iter().find(|v| v.name == name)
}

/// A command's exit codes, one per line, indented.
fn exit_lines(v: &Verb) -> String {
    v.exit_codes
        .iter()
        .map(|(code, what)| format!("  {code:<4} {what}\n"))
        .collect()
}

/// The text after a command's options: its examples and its exit codes.
pub fn after(name: &str) -> String {
    let Some(v) = verb(name) else {
        return String::new();
    };
    let h = heading();
    let mut out = format!("{h}Examples:{h:#}\n");
    for (what, line) in v.examples {
        out.push_str(&format!("  # {what}\n  {line}\n"));
    }
    out.push_str(&format!("\n{h}Exit codes:{h:#}\n{}", exit_lines(v)));
    out
}

/// The text after the top-level options: every command's exit codes, and the log.
pub fn top() -> String {
    let h = heading();
    let mut out = format!(
        "{h}Exit codes:{h:#} (1 is every command's error, a usage error too; `zonekeeper COMMAND --help` shows examples)\n"
    );
    for v in VERBS {
        out.push_str(&format!("  {}\n", v.name));
        out.push_str(
            &exit_lines(v)
                .lines()
                .map(|l| format!("  {l}\n"))
                .collect::<String>(),
        );
    }
    out.push_str(&format!(
        "\n{h}Logging:{h:#}\n  Logs go to stderr. -v shows zonekeeper's info, -vv its debug, -q errors only;\n  \
         ZONEKEEPER_LOG (a tracing filter, e.g. zonekeeper=debug,sqlx=info), when set, wins over both.\n"
    ));
    out
}

/// The log filter of `-v`/`-q`, for a command that logs `default` without them.
/// Queries of the store (sqlx logs each at info) stay at warn: ZONEKEEPER_LOG can ask.
pub fn log_filter(verbose: u8, quiet: bool, default: &'static str) -> String {
    const OURS: [&str; 3] = ["zonekeeper", "zonekeeper_lab", "zonekeeper_query"];
    let level = match (quiet, verbose) {
        (true, _) => return "error".into(),
        (false, 0) => return default.into(),
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let ours: Vec<String> = OURS.iter().map(|t| format!("{t}={level}")).collect();
    format!("{},sqlx=warn,warn", ours.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn every_command_has_its_examples_and_exit_codes_and_no_other() {
        let commands: Vec<String> = crate::cli::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect();
        let verbs: Vec<String> = VERBS.iter().map(|v| v.name.to_string()).collect();
        assert_eq!(commands, verbs);
        for v in VERBS {
            assert!(!v.examples.is_empty(), "{}", v.name);
            assert_eq!(v.exit_codes.first().map(|c| c.0), Some(0), "{}", v.name);
            assert!(v.exit_codes.iter().any(|c| c.0 == 1), "{}", v.name);
            assert!(
                v.exit_codes.windows(2).all(|w| w[0].0 < w[1].0),
                "{}",
                v.name
            );
        }
    }

    #[test]
    fn verbosity_keeps_the_store_quiet() {
        assert_eq!(log_filter(0, false, "warn"), "warn");
        assert_eq!(log_filter(3, true, "warn"), "error");
        let vv = log_filter(2, false, "warn");
        assert!(
            vv.contains("zonekeeper=debug") && vv.contains("sqlx=warn"),
            "{vv}"
        );
        assert!(log_filter(1, false, "warn").contains("zonekeeper_query=info"));
    }
}
