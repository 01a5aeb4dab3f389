//! Renders a plan for people (a record-level diff per zone, coloured on a terminal) and
//! for programs (JSON, also the saved-plan format).

use similar::{ChangeTag, TextDiff};

use super::operations::{OperationState, PlannedOperation, PlannedZoneOperations, Wait};
use super::{GroupChange, Plan, ZoneAction, ZoneChange};
use crate::procedures::{Action, Gate};

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
    text_diff(&z.old_text, &z.new_text, color)
}

/// The record-level diff of two canonical texts, one line per record changed, the SOA
/// serial left out (`show zone` shows desired against recorded so).
pub fn text_diff(old: &str, new: &str, color: bool) -> String {
    let (old, new) = (masked(old), masked(new));
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

/// The plan as text, operations under way in full (`zonekeeper plan`).
pub fn text(plan: &Plan, color: bool) -> String {
    text_with(plan, color, true)
}

/// The plan as `apply` shows it before asking: what is to approve. Operations under way
/// were approved when they were created; they are counted, and the apply's report says
/// where they wait.
pub fn text_to_approve(plan: &Plan, color: bool) -> String {
    text_with(plan, color, false)
}

fn text_with(plan: &Plan, color: bool, active: bool) -> String {
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
        out.push_str(&group_text(g, color));
    }
    out.push_str(&zones_text(&plan.zones, color));
    let shown: Vec<PlannedOperation> = plan
        .operations
        .iter()
        .filter(|o| active || o.state == OperationState::New)
        .cloned()
        .collect();
    if !shown.is_empty() {
        out.push_str(&format!(
            "\n{} (steps in order; a step waits at its gate):\n",
            paint(color, BOLD, "Staged operations")
        ));
        out.push_str(&operations_text(&shown));
    }
    if !plan.zone_operations.is_empty() {
        out.push_str(&format!(
            "\n{} (steps in order; a step waits at its gate):\n",
            paint(color, BOLD, "Zone operations")
        ));
        out.push_str(&zone_operations_text(&plan.zone_operations));
    }
    out.push_str(&format!(
        "\n{} to create, {} to update, {} to delete, {} to verify; {} operation(s) to start, {} under way.\n",
        plan.count(ZoneAction::Create),
        plan.count(ZoneAction::Update),
        plan.count(ZoneAction::Delete),
        plan.count(ZoneAction::Verify),
        plan.count_operations(OperationState::New),
        plan.count_operations(OperationState::Active)
    ));
    out
}

/// One group's change, as the text plan shows it.
fn group_text(g: &GroupChange, color: bool) -> String {
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
    format!(
        "\n{} {}: {}\n",
        paint(color, BOLD, "group"),
        g.group,
        parts.join(", ")
    )
}

/// A text plan shows every zone change in full up to this many; beyond, the first
/// [`ZONES_IN_FULL`] and a summary of the rest (40,000 new zones would be 70 MB of text).
pub const ZONES_SHOWN: usize = 100;
/// The zone changes shown in full when there are more than [`ZONES_SHOWN`].
pub const ZONES_IN_FULL: usize = 20;

/// How many of `count` zone changes (the first, by zone name) a text plan shows in full.
pub fn zones_in_full(count: usize) -> usize {
    if count > ZONES_SHOWN {
        ZONES_IN_FULL
    } else {
        count
    }
}

/// The zone changes as the text plan shows them: each with its diff, or, for many, the
/// first ones with theirs and the rest counted by action with the first few names.
fn zones_text(zones: &[ZoneChange], color: bool) -> String {
    let full = zones_in_full(zones.len());
    let mut out: String = zones[..full].iter().map(|z| zone_text(z, color)).collect();
    let rest = &zones[full..];
    if rest.is_empty() {
        return out;
    }
    out.push_str(&format!(
        "\n{} more zone change(s) not shown in full (`--format json` lists each with its records):\n",
        rest.len()
    ));
    for (action, what) in [
        (ZoneAction::Create, "create"),
        (ZoneAction::Update, "update"),
        (
            ZoneAction::Delete,
            "delete (applied only with --allow-delete)",
        ),
        (ZoneAction::Verify, "verify"),
    ] {
        let names: Vec<String> = rest
            .iter()
            .filter(|z| z.action == action)
            .map(|z| z.zone.clone())
            .collect();
        if !names.is_empty() {
            let moved = rest
                .iter()
                .filter(|z| z.action == action && z.old_group.is_some())
                .count();
            let moved = if moved > 0 {
                format!(" ({moved} moving to another group, staged)")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {what}: {} zone(s){moved}: {}\n",
                names.len(),
                zone_list(&names)
            ));
        }
    }
    out
}

/// One zone's change (and its diff), as the text plan shows it.
fn zone_text(z: &ZoneChange, color: bool) -> String {
    let serial = |s: Option<u32>| s.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
    let head = match z.action {
        ZoneAction::Create => paint(
            color,
            GREEN,
            &format!(
                "+ create {} (group {}, serial {}{})",
                z.zone,
                z.group,
                serial(z.new_serial),
                z.continues_from
                    .map(|f| format!(", serial continues from {f}, imported"))
                    .unwrap_or_default()
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
    let mut out = format!("\n{head}\n");
    if z.action != ZoneAction::Verify {
        out.push_str(&zone_diff(z, color));
    }
    out
}

/// The plan as JSON (the saved-plan format).
pub fn json(plan: &Plan) -> serde_json::Value {
    let mut v = serde_json::to_value(plan).unwrap_or(serde_json::Value::Null);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("format".into(), serde_json::json!(super::serialize::FORMAT));
        obj.insert(
            "summary".into(),
            serde_json::json!({
                "create": plan.count(ZoneAction::Create),
                "update": plan.count(ZoneAction::Update),
                "delete": plan.count(ZoneAction::Delete),
                "verify": plan.count(ZoneAction::Verify),
                "operations_new": plan.count_operations(OperationState::New),
                "operations_active": plan.count_operations(OperationState::Active),
                "zone_operations": plan.zone_operations.iter().map(|o| o.zones).sum::<usize>(),
                "changes": plan.has_changes(),
            }),
        );
    }
    v
}

/// Zone names as people read them: the first few, then how many more.
pub fn zone_list(zones: &[String]) -> String {
    crate::model::text::first_few(zones, crate::model::text::SHOWN, ", ")
}

/// What an action does, in a few words.
pub fn action_text(action: &Action) -> String {
    match action {
        Action::RenderPrimary => {
            "render the primary's configuration (also-notify) and notify the catalog".into()
        }
        Action::PublishZones => "give the zones their desired content (signed UPDATEs)".into(),
        Action::CatalogAdd => "add the zones to the group's catalog".into(),
        Action::LeaveCatalog => "remove the zones from the server's own catalog".into(),
        Action::CatalogRemove { group } => {
            format!("remove the zones from group {group}'s catalogs")
        }
        Action::PublishParents { zones } => {
            format!("publish the delegation in {}", zone_list(zones))
        }
        Action::SetRrset {
            owner,
            rtype,
            ttl,
            values,
        } => format!(
            "{owner} {rtype} becomes {} with TTL {ttl}",
            values.join(", ")
        ),
        Action::Nothing => "nothing".into(),
        Action::RaiseExpire { seconds } => {
            format!("raise every SOA expire to at least {seconds} s")
        }
        Action::LoadCopy { to, from } => format!(
            "load every zone on {} ({}), catalogs copied from {from}",
            to.name, to.addr
        ),
        Action::CatalogPrimaries { primaries, .. } => format!(
            "the catalogs name the primaries {}",
            primaries
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Action::BumpSerials { on } => format!("bump every serial on {} alone", on.name),
        Action::TakeCatalogs { to, .. } => format!("{} takes the catalogs over", to.name),
        Action::PublishZonesOn { on } => {
            format!("give the zones their desired content on {}", on.name)
        }
        Action::Retire { old } => format!("{} stops serving the zones and catalogs", old.name),
        Action::LoadZone => "load the zone on the primary from a new zone file".into(),
        Action::SendUpdate => "send the zone's change (signed UPDATEs)".into(),
        Action::CatalogJoin { leave: None } => "add the zone to its group's catalogs".into(),
        Action::CatalogJoin { leave: Some(old) } => {
            format!("add the zone to its group's catalogs, remove it from group {old}'s")
        }
        Action::UnloadZone => "take the zone out of the primary's configuration".into(),
    }
}

/// What proves a step, in a few words.
pub fn gate_text(gate: &Gate) -> String {
    match gate {
        Gate::Serves { server } => {
            format!("{server} serves every zone with AA at the recorded serial (UDP and TCP)")
        }
        Gate::AllServe => "every server of the group serves the recorded serial".into(),
        Gate::GroupServes { group } => format!("every secondary of {group} serves the zones"),
        Gate::GroupStopped { group, except } if except.is_empty() => {
            format!("the secondaries of {group} stop serving the zones")
        }
        Gate::GroupStopped { group, except } => {
            format!("the secondaries of {group} not in {except} stop serving the zones")
        }
        Gate::Wait { .. } => "time".into(),
        Gate::StoppedServing { server, .. } => {
            format!("{server} no longer answers authoritatively for the zones")
        }
        Gate::Delegation { .. } => "the parents delegate with the desired NS set".into(),
        Gate::Propagated { primary, .. } => {
            format!("{primary} and every secondary serve the recorded serial")
        }
        Gate::SameData { new, old } => format!("{new} serves the same RRsets as {old}"),
        Gate::CatalogsServed { primary, .. } => {
            format!("every secondary serves the catalogs at the serial of {primary}")
        }
        Gate::Retired { server, .. } => {
            format!("{server} no longer answers for the zones or catalogs")
        }
        Gate::Manual { .. } => "an operator confirms".into(),
        Gate::PrimaryServes => "the primary serves the zone (UDP and TCP)".into(),
        Gate::ContentEquals => "the primary holds exactly the desired RRsets (AXFR)".into(),
        Gate::PrimaryStopped => "the primary no longer answers for the zone".into(),
    }
}

/// One wait, as a line under its step (`step` counts from 1). The plan never prints a
/// `zonekeeper confirm` command: a step is confirmed once it is reached, as its message
/// then says.
fn wait_text(wait: &Wait, step: usize) -> String {
    match wait {
        Wait::Time { seconds, why } => format!("waits {seconds} s: {why}"),
        Wait::Confirmation { what } => {
            format!("waits for an operator to confirm step {step} once {what}")
        }
        Wait::Delegation {
            managed_parents,
            asked,
            by_hand,
            ..
        } => {
            let mut parts = Vec::new();
            if !managed_parents.is_empty() {
                parts.push(format!("published in {}", zone_list(managed_parents)));
            }
            if !asked.is_empty() {
                parts.push(format!(
                    "asked of the parent servers of {}",
                    zone_list(asked)
                ));
            }
            if !by_hand.is_empty() {
                parts.push(format!("confirmed by hand for {}", zone_list(by_hand)));
            }
            format!("waits for the parents' delegation: {}", parts.join("; "))
        }
        // What they change is long and only right once the step is reached: the step's
        // message says it then (JSON carries it now).
        Wait::Operator { .. } => {
            "waits for the secondaries' operators to change their configuration (the step says how when it is reached)".into()
        }
    }
}

/// The staged operations, one block each: head line, then its steps with their gates and
/// waits.
pub fn operations_text(ops: &[PlannedOperation]) -> String {
    let mut out = String::new();
    for o in ops {
        let label = match (o.state, o.id) {
            (OperationState::Active, Some(id)) => format!("op {id} (under way)"),
            _ => "new".to_string(),
        };
        let mut what = o.kind.clone();
        if !o.server.is_empty() {
            what.push_str(&format!(" {}", o.server));
        }
        if !o.group.is_empty() {
            what.push_str(&format!(" in group {}", o.group));
        }
        out.push_str(&format!(
            "\n{label}: {what}, {} zone(s): {}\n",
            o.zones.len(),
            zone_list(&o.zones)
        ));
        for (i, s) in o.steps.iter().enumerate() {
            let state = s
                .state
                .as_ref()
                .map(|st| format!(" [{st}]"))
                .unwrap_or_default();
            let body = match (&s.action, &s.gate) {
                (Some(a), Some(g)) => format!(": {}; gate: {}", action_text(a), gate_text(g)),
                _ => ": (a step this version cannot read)".into(),
            };
            out.push_str(&format!("  {}. {}{state}{body}\n", i + 1, s.name));
            for w in &s.waits {
                out.push_str(&format!("       {}\n", wait_text(w, i + 1)));
            }
            if let Some(m) = s
                .message
                .as_ref()
                .filter(|_| s.state.as_deref() != Some("done"))
            {
                out.push_str(&format!("       last: {m}\n"));
            }
        }
    }
    out
}

/// The zone operations, one block per kind and group: how many zones, then the steps with
/// what each does and its gate.
pub fn zone_operations_text(ops: &[PlannedZoneOperations]) -> String {
    let mut out = String::new();
    for o in ops {
        let only = if o.kind == "delete-zone" {
            " (only with --allow-delete)"
        } else {
            ""
        };
        out.push_str(&format!(
            "\n{} in group {}, {} zone(s){only}:\n",
            o.kind, o.group, o.zones
        ));
        for (i, s) in o.steps.iter().enumerate() {
            if let (Some(a), Some(g)) = (&s.action, &s.gate) {
                out.push_str(&format!(
                    "  {}. {}: {}; gate: {}\n",
                    i + 1,
                    s.name,
                    action_text(a),
                    gate_text(g)
                ));
            }
        }
    }
    out
}
