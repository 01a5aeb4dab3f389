//! JSON Schemas against the program: the editor schemas (schema/zone.schema.json,
//! schema/zonekeeper.schema.json) accept exactly what `validate` accepts over the corpus
//! of tests/fixtures/schema-corpus/ (but for the rules a schema cannot express, marked in
//! each case), the copies shipped in examples/schema/ are the same files, and the JSON
//! outputs of the real binary match schema/output/<command>.schema.json.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{Db, Env, text, zone_yaml};

/// The repository's top.
pub fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The JSON (or YAML, read as JSON) file at `path`.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A validator of the JSON Schema at `path` (2020-12, formats checked as editors do),
/// after checking the schema itself against the 2020-12 meta-schema.
pub fn validator(path: &Path) -> jsonschema::Validator {
    let schema = read_json(path);
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("{} is not a valid JSON Schema: {e}", path.display());
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Why `instance` does not match `v` (empty when it does).
pub fn why_not(v: &jsonschema::Validator, instance: &serde_json::Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

/// Runs the real binary in `cwd`.
fn zk(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zonekeeper"))
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("ZONEKEEPER_DB")
        .env_remove("ZONEKEEPER_REPO")
        .env_remove("ZONEKEEPER_LOG")
        .output()
        .unwrap()
}

/// One case of the corpus: a zone file (checked as zones/example.com.yaml beside the
/// base zonekeeper.yaml) or a zonekeeper.yaml (checked beside the base zone file).
pub struct Case {
    /// Its file.
    pub path: PathBuf,
    /// Whether it is a zonekeeper.yaml.
    pub config: bool,
    /// What the case says validate does: `# expect: valid|invalid`.
    pub valid: bool,
    /// `# schema-cannot: RULE`: a rule JSON Schema cannot express (validate refuses, the
    /// schema accepts).
    pub cannot: Option<String>,
    /// The file's text.
    pub text: String,
}

/// Every case of the corpus, zone files first.
pub fn corpus() -> Vec<Case> {
    let dir = top().join("tests/fixtures/schema-corpus");
    let mut cases = Vec::new();
    for (sub, config) in [("zone", false), ("config", true)] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).unwrap();
            let header = |key: &str| {
                text.lines()
                    .take_while(|l| l.starts_with('#'))
                    .find_map(|l| l.strip_prefix(&format!("# {key}: ")))
                    .map(str::to_string)
            };
            let valid = match header("expect").as_deref() {
                Some("valid") => true,
                Some("invalid") => false,
                other => panic!(
                    "{}: `# expect: valid|invalid`, not {other:?}",
                    path.display()
                ),
            };
            let cannot = header("schema-cannot");
            assert!(
                cannot.is_none() || !valid,
                "{}: a case the schema cannot judge is one validate refuses",
                path.display()
            );
            cases.push(Case {
                path,
                config,
                valid,
                cannot,
                text,
            });
        }
    }
    cases
}

/// What `validate` and the schema say of one case.
pub struct Verdict {
    /// `validate --worktree` exited 0.
    pub validate: bool,
    /// The problems validate reported (codes and messages), when it refused.
    pub problems: String,
    /// Why the schema refused (empty: it accepted).
    pub schema: Vec<String>,
}

/// Judges every case of `cases`: validate on a repository holding it, the editor schema
/// on its YAML read as JSON (as editors read it).
pub fn judge(cases: &[Case]) -> Vec<Verdict> {
    let base = top().join("tests/fixtures/schema-corpus/base");
    let zone_schema = validator(&top().join("schema/zone.schema.json"));
    let config_schema = validator(&top().join("schema/zonekeeper.schema.json"));
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zones")).unwrap();
    let config_base = std::fs::read_to_string(base.join("zonekeeper.yaml")).unwrap();
    let zone_base = std::fs::read_to_string(base.join("zone.yaml")).unwrap();
    cases
        .iter()
        .map(|case| {
            let (config, zone) = if case.config {
                (case.text.as_str(), zone_base.as_str())
            } else {
                (config_base.as_str(), case.text.as_str())
            };
            std::fs::write(dir.path().join("zonekeeper.yaml"), config).unwrap();
            std::fs::write(dir.path().join("zones/example.com.yaml"), zone).unwrap();
            let out = zk(
                &["validate", "--worktree", "--repo", ".", "--format", "json"],
                dir.path(),
            );
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}: {}",
                case.path.display(),
                text(&out)
            );
            let instance: serde_json::Value = serde_saphyr::from_str(&case.text)
                .unwrap_or_else(|e| panic!("{}: {e}", case.path.display()));
            let schema = if case.config {
                &config_schema
            } else {
                &zone_schema
            };
            Verdict {
                validate: out.status.success(),
                problems: String::from_utf8_lossy(&out.stdout).into_owned(),
                schema: why_not(schema, &instance),
            }
        })
        .collect()
}

/// Where the schema and validate disagree, or a case's expectation is wrong.
pub fn disagreements(cases: &[Case], verdicts: &[Verdict]) -> Vec<String> {
    let mut out = Vec::new();
    for (case, v) in cases.iter().zip(verdicts) {
        let name = case.path.file_name().unwrap().to_string_lossy();
        let schema_ok = v.schema.is_empty();
        if v.validate != case.valid {
            out.push(format!(
                "{name}: expected {}, validate says {}: {}",
                if case.valid { "valid" } else { "invalid" },
                if v.validate { "valid" } else { "invalid" },
                v.problems.trim()
            ));
        } else if case.cannot.is_some() && !schema_ok {
            out.push(format!(
                "{name}: marked as beyond the schema, but the schema refuses it: {:?}",
                v.schema
            ));
        } else if case.cannot.is_none() && schema_ok != v.validate {
            out.push(if schema_ok {
                format!(
                    "{name}: the schema accepts what validate refuses: {}",
                    v.problems.trim()
                )
            } else {
                format!(
                    "{name}: the schema refuses what validate accepts: {:?}",
                    v.schema
                )
            });
        }
    }
    out
}

/// Over at least 100 cases, valid and invalid: the editor schemas accept a file exactly
/// when `validate` does, but for the rules marked `schema-cannot` (cross-record and
/// cross-file rules, values compared with each other, settings of zonekeeper.yaml), where
/// the schema accepts and validate refuses.
#[test]
fn editor_schemas_agree_with_validate_over_the_corpus() {
    let cases = corpus();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let valid = cases.iter().filter(|c| c.valid).count();
    let beyond = cases.iter().filter(|c| c.cannot.is_some()).count();
    assert!(
        valid >= 30 && cases.len() - valid - beyond >= 30 && beyond >= 10,
        "{valid} valid, {beyond} beyond the schema, of {}",
        cases.len()
    );
    assert!(cases.iter().any(|c| c.config) && cases.iter().any(|c| !c.config));
    let verdicts = judge(&cases);
    let wrong = disagreements(&cases, &verdicts);
    assert!(
        wrong.is_empty(),
        "{} disagreement(s):\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// examples/schema/ ships the editor schemas beside the example repository, byte for
/// byte the files of schema/.
#[test]
fn examples_ship_the_schemas_of_schema_dir() {
    for name in ["zone.schema.json", "zonekeeper.schema.json"] {
        let shipped = std::fs::read(top().join("examples/schema").join(name)).unwrap();
        let source = std::fs::read(top().join("schema").join(name)).unwrap();
        assert!(
            shipped == source,
            "examples/schema/{name} differs from schema/{name}: copy it (cp schema/{name} examples/schema/)"
        );
    }
}

/// The `$schema` links of the example's YAML files, resolved from each file's directory.
pub fn schema_links(root: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut files = vec![root.join("zonekeeper.yaml")];
    let mut zones: Vec<PathBuf> = std::fs::read_dir(root.join("zones"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    zones.sort();
    files.extend(zones);
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            let link = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# yaml-language-server: $schema="))
                .unwrap_or_else(|| panic!("{}: no $schema link on line 1", f.display()))
                .trim()
                .to_string();
            let target = f.parent().unwrap().join(link);
            (f, target)
        })
        .collect()
}

/// Every JSON output checked against its schema: validate's (valid and invalid), an
/// error's and a usage error's, without a lab.
#[test]
fn validate_and_error_outputs_match_their_schemas() {
    let out_dir = top().join("schema/output");
    let validate = validator(&out_dir.join("validate.schema.json"));
    let error = validator(&out_dir.join("error.schema.json"));
    let examples = top().join("examples");
    let dir = tempfile::tempdir().unwrap();

    let ok = zk(
        &["validate", "--worktree", "--format", "json", "--repo"],
        dir.path(),
    );
    // --repo without a value: a usage error, in JSON
    assert_eq!(ok.status.code(), Some(1), "{}", text(&ok));
    let usage: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(usage["format"], "zonekeeper-error/1");
    assert!(why_not(&error, &usage).is_empty(), "{usage}");

    let good = zk(
        &[
            "validate",
            "--worktree",
            "--format",
            "json",
            "--repo",
            examples.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(good.status.code(), Some(0), "{}", text(&good));
    let doc: serde_json::Value = serde_json::from_slice(&good.stdout).unwrap();
    assert_eq!(doc["format"], "zonekeeper-validate/1");
    assert_eq!(doc["valid"], true);
    assert!(
        why_not(&validate, &doc).is_empty(),
        "{:?}",
        why_not(&validate, &doc)
    );

    let repo = dir.path().join("bad");
    std::fs::create_dir_all(repo.join("zones")).unwrap();
    // the corpus's configuration: its key in an environment variable, nothing on disk
    std::fs::copy(
        examples.join("../tests/fixtures/schema-corpus/base/zonekeeper.yaml"),
        repo.join("zonekeeper.yaml"),
    )
    .unwrap();
    std::fs::write(
        repo.join("zones/example.com.yaml"),
        "group: default\nrecords:\n  www: { A: 256.1.1.1 }\n",
    )
    .unwrap();
    let bad = zk(
        &[
            "validate",
            "--worktree",
            "--format",
            "json",
            "--repo",
            "bad",
        ],
        dir.path(),
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let doc: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{doc}");
    assert_eq!(problems[0]["line"], 3, "{doc}");
    assert!(
        why_not(&validate, &doc).is_empty(),
        "{:?}",
        why_not(&validate, &doc)
    );

    // a revision that is not there: an error, in JSON on stdout, nothing on stdout else
    let missing = zk(
        &[
            "validate",
            "--rev",
            "no-such-rev",
            "--format",
            "json",
            "--repo",
            "bad",
        ],
        dir.path(),
    );
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    let doc: serde_json::Value = serde_json::from_slice(&missing.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&missing)));
    assert_eq!(doc["format"], "zonekeeper-error/1");
    assert!(!doc["error"]["message"].as_str().unwrap().is_empty());
    assert!(why_not(&error, &doc).is_empty(), "{doc}");
}

/// A JSON document on stdout of `out`, checked against schema/output/`name`.schema.json.
fn checked(name: &str, out: &Output) -> serde_json::Value {
    let v = validator(&top().join(format!("schema/output/{name}.schema.json")));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: not one JSON document ({e}): {}", text(out)));
    assert_eq!(doc["format"], format!("zonekeeper-{name}/1"), "{doc}");
    let why = why_not(&v, &doc);
    assert!(why.is_empty(), "{name}: {why:?}\n{doc}");
    doc
}

/// apply, check, drift and import on a real lab, each in JSON, each output matching its
/// schema; drift with drift found, import of the drifting zone from the primary.
#[test]
fn lab_outputs_match_their_schemas() {
    let env = Env::new(Db::Sqlite);
    env.zone("a.test", &zone_yaml("192.0.2.10"));
    env.commit("a.test");
    let applied = env.zk(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let doc = checked("apply", &applied);
    assert_eq!(doc["state"], "applied");
    assert_eq!(doc["created"][0], "a.test.");

    let again = env.zk(&["apply", "--auto-approve", "--format", "json"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(checked("apply", &again)["changes"], false);

    let check = env.zk(&["check", "--format", "json"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert_eq!(checked("check", &check)["ok"], true);

    let clean = env.zk(&["drift", "--format", "json"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    assert_eq!(checked("drift", &clean)["checked"], 1);

    // an edit on the primary behind zonekeeper's back
    crate::drift::out_of_band(&env, "a.test.", "192.0.2.99");
    let drift = env.zk(&["drift", "--format", "json"]);
    assert_eq!(drift.status.code(), Some(2), "{}", text(&drift));
    let doc = checked("drift", &drift);
    assert_eq!(doc["drift"][0]["zone"], "a.test.");

    let import = env.zk(&[
        "import",
        "--zone",
        "a.test",
        "--from-primary",
        "--format",
        "json",
    ]);
    assert_eq!(import.status.code(), Some(0), "{}", text(&import));
    assert_eq!(checked("import", &import)["zone"], "a.test.");

    // the report shape of import: a zone file
    let file = env.dir.path().join("b.test.zone");
    std::fs::write(
        &file,
        "$ORIGIN b.test.\n@ 300 IN SOA ns1.example.net. h.example.net. 5 3600 600 1209600 300\n@ 300 IN NS ns1.example.net.\nwww 300 IN A 192.0.2.7\n",
    )
    .unwrap();
    let import = env.zk(&[
        "import",
        "--file",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(import.status.code(), Some(0), "{}", text(&import));
    assert_eq!(checked("import", &import)["written"], 1);
}
