//! Renumber or re-target a service: a planned cut-over of one RRset, marked `cutover:` in
//! the zone file (migration document section 4).
//!
//! # Expected flow
//!
//! 1. **lower-ttl**: the RRset keeps its old data with the short TTL. Gate: every server
//!    serves the new serial.
//! 2. **wait-caches**: wait the zone's refresh interval plus the old TTL, so no secondary
//!    and no cache still holds the long-TTL data.
//! 3. **switch**: the RRset gets its new data, still with the short TTL. Gate: every server
//!    serves the new serial.
//! 4. **soak**: keep the short TTL for the soak period: backing out is quick meanwhile.
//! 5. **restore-ttl**: the zone gets its desired content: the new data with its normal TTL.
//!    Gate: every server serves the new serial.
//!
//! Reverse zones follow the same TTLs when their PTR RRsets are marked `cutover:` too.
//!
//! # Caveats
//!
//! The zone is in the operation's hands until it is done: its other changes wait for it.

use super::{Action, Gate, Kind, NewOperation, StepSpec};

/// A cut-over to stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renumber {
    /// The zone.
    pub zone: String,
    /// Its group.
    pub group: String,
    /// The RRset's owner, lower case.
    pub owner: String,
    /// Its type.
    pub rtype: String,
    /// Its recorded TTL.
    pub old_ttl: u32,
    /// Its recorded data (canonical presentation).
    pub old: Vec<String>,
    /// Its desired data.
    pub new: Vec<String>,
    /// TTL while the change is under way.
    pub short_ttl: u32,
    /// How long the short TTL stays after the switch.
    pub soak: u32,
    /// The zone's SOA refresh interval.
    pub refresh: u32,
}

/// The operation that stages `r`.
pub fn operation(r: &Renumber) -> NewOperation {
    let set = |values: &[String]| Action::SetRrset {
        owner: r.owner.clone(),
        rtype: r.rtype.clone(),
        ttl: r.short_ttl,
        values: values.to_vec(),
    };
    let wait = u64::from(r.refresh) + u64::from(r.old_ttl);
    NewOperation {
        kind: Kind::Renumber,
        group: r.group.clone(),
        server: format!("{} {}", r.owner, r.rtype),
        zones: vec![r.zone.clone()],
        steps: vec![
            StepSpec::new("lower-ttl", set(&r.old), Gate::AllServe),
            StepSpec::new(
                "wait-caches",
                Action::Nothing,
                Gate::Wait {
                    seconds: wait,
                    why: format!(
                        "secondaries and caches may hold {} {} with TTL {} for {wait} s (refresh + old TTL)",
                        r.owner, r.rtype, r.old_ttl
                    ),
                },
            ),
            StepSpec::new("switch", set(&r.new), Gate::AllServe),
            StepSpec::new(
                "soak",
                Action::Nothing,
                Gate::Wait {
                    seconds: u64::from(r.soak),
                    why: format!(
                        "{} {} soaks with TTL {} (quick back-out)",
                        r.owner, r.rtype, r.short_ttl
                    ),
                },
            ),
            StepSpec::new("restore-ttl", Action::PublishZones, Gate::AllServe),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_is_lowered_and_waited_out_before_the_switch() {
        let r = Renumber {
            zone: "example.com.".into(),
            group: "g".into(),
            owner: "mail.example.com.".into(),
            rtype: "A".into(),
            old_ttl: 3600,
            old: vec!["10.20.30.40".into()],
            new: vec!["172.16.0.1".into()],
            short_ttl: 300,
            soak: 600,
            refresh: 86400,
        };
        let op = operation(&r);
        let names: Vec<&str> = op.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec!["lower-ttl", "wait-caches", "switch", "soak", "restore-ttl"]
        );
        assert!(
            matches!(&op.steps[0].action, Action::SetRrset { ttl: 300, values, .. } if values == &r.old)
        );
        assert!(
            matches!(op.steps[1].gate, Gate::Wait { seconds: 90000, .. }),
            "refresh + old TTL"
        );
        assert!(
            matches!(&op.steps[2].action, Action::SetRrset { ttl: 300, values, .. } if values == &r.new)
        );
        assert!(matches!(op.steps[3].gate, Gate::Wait { seconds: 600, .. }));
    }
}
