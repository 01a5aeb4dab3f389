//! Renders a plan for people (a record-level diff per zone, coloured on a terminal) and
//! for programs (JSON, also the saved-plan format).

use similar::{ChangeTag, TextDiff};

use super::{Plan, ZoneAction, ZoneChange};

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(color: bool, code: &str, text: &str) -> String {
    if color {
        format!("{code}{text}{RESET}")
    } else {
        text.to_string()
    }
}

/// The text with the SOA serial masked, so the diff shows only what the operator changed.
fn masked(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i == 0 && line.split_whitespace().nth(3) == Some("SOA") {
            let mut f: Vec<&str> = line.split_whitespace().collect();
            if f.len() == 11 {
                f[6] = "(serial)";
            }
            out.push_str(&f.join(" "));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The record-level diff of one zone, one line per record.
pub fn zone_diff(z: &ZoneChange, color: bool) -> String {
    let (old, new) = (masked(&z.old_text), masked(&z.new_text));
    let diff = TextDiff::from_lines(&old, &new);
    let mut out = String::new();
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end();
        match change.tag() {
            ChangeTag::Delete => out.push_str(&format!(
                "    {}\n",
                paint(color, RED, &format!("- {line}"))
            )),
            ChangeTag::Insert => out.push_str(&format!(
                "    {}\n",
                paint(color, GREEN, &format!("+ {line}"))
            )),
            ChangeTag::Equal => {}
        }
    }
    out
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// The plan as text.
pub fn text(plan: &Plan, color: bool) -> String {
    let mut out = format!(
        "Plan for revision {} ({}), against {}.\n",
        short(&plan.revision),
        plan.author,
        plan.base_revision
            .as_deref()
            .map(|r| format!("applied revision {}", short(r)))
            .unwrap_or_else(|| "an empty store".into())
    );
    if !plan.has_changes() {
        out.push_str("No changes: the servers already serve this revision.\n");
        return out;
    }
    if let Some((from, to)) = &plan.primary {
        out.push_str(&format!(
            "primary {from} → {to} (staged: expire raised, zones loaded and compared, secondaries switched, zones frozen until done)\n"
        ));
    }
    for g in &plan.groups {
        let mut parts = Vec::new();
        if g.created {
            parts.push(format!(
                "new group, catalog {}",
                g.catalog.1.as_deref().unwrap_or("")
            ));
        } else if g.removed {
            parts.push("group removed".to_string());
        } else if g.catalog.0 != g.catalog.1 {
            parts.push(format!(
                "catalog {} → {}",
                g.catalog.0.as_deref().unwrap_or("-"),
                g.catalog.1.as_deref().unwrap_or("-")
            ));
        }
        let staged = !g.created && !g.removed;
        for s in &g.added {
            parts.push(format!(
                "+ secondary {s}{}",
                if staged {
                    " (staged: add-secondary; its NS is published once it serves)"
                } else {
                    ""
                }
            ));
        }
        for s in &g.removed_secondaries {
            parts.push(format!(
                "- secondary {s}{}",
                if staged {
                    " (staged: remove-secondary; NS first, TTL wait, then it stops)"
                } else {
                    ""
                }
            ));
        }
        out.push_str(&format!(
            "\n{} {}: {}\n",
            paint(color, BOLD, "group"),
            g.group,
            parts.join(", ")
        ));
    }
    for z in &plan.zones {
        let serial = |s: Option<u32>| s.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        let head = match z.action {
            ZoneAction::Create => paint(
                color,
                GREEN,
                &format!(
                    "+ create {} (group {}, serial {})",
                    z.zone,
                    z.group,
                    serial(z.new_serial)
                ),
            ),
            ZoneAction::Update => {
                let moved = z
                    .old_group
                    .as_ref()
                    .map(|g| format!(", group {g} → {}; staged: served by both, NS switched, {g} drops it after the TTL", z.group))
                    .unwrap_or_default();
                paint(
                    color,
                    YELLOW,
                    &format!(
                        "~ update {} (serial {} → {}{moved})",
                        z.zone,
                        serial(z.expected_serial),
                        serial(z.new_serial)
                    ),
                )
            }
            ZoneAction::Delete => paint(
                color,
                RED,
                &format!(
                    "- delete {} (group {}; applied only with --allow-delete)",
                    z.zone, z.group
                ),
            ),
            ZoneAction::Verify => format!(
                "? verify {} (serial {} not yet seen on every server of group {})",
                z.zone,
                serial(z.expected_serial),
                z.group
            ),
        };
        out.push_str(&format!("\n{head}\n"));
        if z.action != ZoneAction::Verify {
            out.push_str(&zone_diff(z, color));
        }
    }
    out.push_str(&format!(
        "\n{} to create, {} to update, {} to delete, {} to verify.\n",
        plan.count(ZoneAction::Create),
        plan.count(ZoneAction::Update),
        plan.count(ZoneAction::Delete),
        plan.count(ZoneAction::Verify)
    ));
    out
}

/// The plan as JSON (the saved-plan format).
pub fn json(plan: &Plan) -> serde_json::Value {
    let mut v = serde_json::to_value(plan).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("format".into(), serde_json::json!("zonekeeper-plan/1"));
        obj.insert(
            "summary".into(),
            serde_json::json!({
                "create": plan.count(ZoneAction::Create),
                "update": plan.count(ZoneAction::Update),
                "delete": plan.count(ZoneAction::Delete),
                "verify": plan.count(ZoneAction::Verify),
                "changes": plan.has_changes(),
            }),
        );
    }
    v
}
