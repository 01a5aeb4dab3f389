//! What a sweep asks: the servers as applied (with their addresses and groups, and
//! whether they are in maintenance) and the zones as recorded (group and serial), read
//! from the store alone, so `zonekeeper check` needs neither the repository nor a key.

use std::net::SocketAddr;

use crate::store::{GroupRow, RecordedZone, ServerRow};

/// The primary or a secondary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The hidden primary: serves every zone, at the recorded serial.
    Primary,
    /// A secondary: serves the zones of its groups, at the primary's serial.
    Secondary,
}

/// A server to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptServer {
    /// Its name.
    pub name: String,
    /// Primary or secondary.
    pub role: Role,
    /// Every address it answers on; each is asked.
    pub addrs: Vec<SocketAddr>,
    /// The groups whose zones it serves (every group, for the primary).
    pub groups: Vec<String>,
    /// Whether it is in maintenance (then it is not asked).
    pub maintenance: bool,
}

/// A zone as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweptZone {
    /// Its name, lower case with the trailing dot.
    pub name: String,
    /// Its group.
    pub group: String,
    /// The serial recorded for it.
    pub serial: u32,
}

/// The fleet a sweep asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fleet {
    /// The servers, the primary first.
    pub servers: Vec<SweptServer>,
    /// The zones.
    pub zones: Vec<SweptZone>,
}

impl Fleet {
    /// The fleet as the store records it. An address the store holds that does not parse
    /// is left out (the server then has fewer addresses to ask; none makes it BROKEN).
    pub fn recorded(servers: &[ServerRow], groups: &[GroupRow], zones: &[RecordedZone]) -> Fleet {
        let mut swept: Vec<SweptServer> = servers
            .iter()
            .map(|s| {
                let role = if s.role == "primary" {
                    Role::Primary
                } else {
                    Role::Secondary
                };
                let groups = match role {
                    Role::Primary => groups.iter().map(|g| g.name.clone()).collect(),
                    Role::Secondary => groups
                        .iter()
                        .filter(|g| g.secondaries.contains(&s.name))
                        .map(|g| g.name.clone())
                        .collect(),
                };
                SweptServer {
                    name: s.name.clone(),
                    role,
                    addrs: s
                        .address
                        .split_whitespace()
                        .filter_map(|a| a.parse().ok())
                        .collect(),
                    groups,
                    maintenance: s.maintenance_since.is_some(),
                }
            })
            .collect();
        swept.sort_by_key(|s| s.role != Role::Primary);
        Fleet {
            servers: swept,
            zones: zones
                .iter()
                .map(|z| SweptZone {
                    name: z.name.clone(),
                    group: z.group.clone(),
                    serial: z.serial,
                })
                .collect(),
        }
    }

    /// The primary, if the store records one.
    pub fn primary(&self) -> Option<&SweptServer> {
        self.servers.iter().find(|s| s.role == Role::Primary)
    }

    /// The indexes (into `zones`) of the zones `server` should serve.
    pub fn zones_of(&self, server: &SweptServer) -> Vec<usize> {
        match server.role {
            Role::Primary => (0..self.zones.len()).collect(),
            Role::Secondary => self
                .zones
                .iter()
                .enumerate()
                .filter(|(_, z)| server.groups.contains(&z.group))
                .map(|(i, _)| i)
                .collect(),
        }
    }
}
