//! What a lab is made of: [`LabSpec`] (its directory, servers, catalogs, keys and paths)
//! and [`LabServerSpec`] (one `named`), the spec tests use ([`LabSpec::for_test`], on
//! ports no other lab of this machine uses), and the checks a spec passes before any file
//! is written (plain names, no port used twice, nothing that cannot go in `named.conf`).

use std::collections::HashSet;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

use crate::error::{LabError, io_err};
use crate::ports::{pick_test_ports, release_port};
use crate::{DEFAULT_MAX_REFRESH_TIME, DEFAULT_SERIAL_QUERY_RATE};

/// One `named` server of a lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabServerSpec {
    /// Name of the server; also the name of its directory under [`LabSpec::dir`]
    /// (letters, digits, `-`, `_` and `.` only).
    pub name: String,
    /// Address the server listens on (and sends NOTIFY, SOA queries and transfers from).
    pub addr: Ipv4Addr,
    /// DNS port, UDP and TCP.
    pub port: u16,
    /// rndc control port, on 127.0.0.1.
    pub rndc_port: u16,
}

impl LabServerSpec {
    /// The address and port the server answers DNS queries on.
    pub fn dns_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.addr, self.port))
    }
}

/// Everything needed to build a lab: where it lives, its servers, its catalogs and keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabSpec {
    /// Lab root; each server gets `dir/<name>/`. Made absolute when the lab starts.
    pub dir: PathBuf,
    /// The primary, which serves the zones of `<include_dir>/zones.conf` and the catalogs.
    pub primary: LabServerSpec,
    /// The secondaries, which follow the primary through the catalogs.
    pub secondaries: Vec<LabServerSpec>,
    /// Catalog zone names (e.g. `catalog.default.zonekeeper.`) that every secondary consumes
    /// from the primary; with or without the trailing dot.
    pub catalogs: Vec<String>,
    /// Per secondary (by name), the catalogs it consumes instead of `catalogs`: a secondary
    /// serves only the groups it belongs to.
    pub secondary_catalogs: std::collections::BTreeMap<String, Vec<String>>,
    /// Name of the TSIG key (hmac-sha256) used for transfers and UPDATEs, e.g. `zonekeeper`.
    pub tsig_key_name: String,
    /// BIND key file holding the TSIG key; created if absent, kept if present.
    pub tsig_key_file: PathBuf,
    /// Where the primary's `rndc.conf` is written (zonekeeper runs `rndc -c <this>`).
    pub primary_rndc_conf: PathBuf,
    /// Directory of `zones.conf`, which the primary's `named.conf` includes; the directory
    /// and an empty `zones.conf` are created if absent.
    pub include_dir: PathBuf,
    /// The secondaries' `serial-query-rate` (see [`DEFAULT_SERIAL_QUERY_RATE`]).
    pub serial_query_rate: u32,
    /// The secondaries' `max-refresh-time` in seconds (see [`DEFAULT_MAX_REFRESH_TIME`]):
    /// every zone is refreshed at least this often. Short for tests (a secondary that
    /// missed a NOTIFY catches up quickly); long for thousands of zones, where refreshing
    /// each every 30 s keeps the lab's CPUs busy.
    pub max_refresh_time: u32,
}

impl LabSpec {
    /// Releases the reservations of every port of this lab (see [`crate::ports`]).
    pub(crate) fn release_ports(&self) {
        for port in self.ports() {
            release_port(port);
        }
    }

    /// A spec for tests: primary `ns0` on 127.0.0.1, secondaries `ns1`, `ns2`, ... on
    /// 127.0.0.2, 127.0.0.3, ..., all on one DNS port that is free on all those addresses
    /// (UDP and TCP), and rndc ports that are free too. The key file (`dir/tsig.key`, key
    /// `zonekeeper`), the primary's rndc.conf (`dir/ns0/rndc.conf`) and the include
    /// directory (`dir/include`) all live under `dir`.
    ///
    /// Safe to call from many threads and processes at once: each port is reserved with a
    /// lock file under `std::env::temp_dir()/zonekeeper-lab-ports/`, held (with `flock`) by
    /// this process until the [`Lab`](crate::Lab) started from the spec is dropped, which
    /// removes the file. A lock file left behind by a process that died is unlocked and is taken over.
    /// If no lab is started from the spec, its ports stay reserved until the process exits.
    pub fn for_test(
        dir: &Path,
        n_secondaries: usize,
        catalogs: Vec<String>,
    ) -> Result<LabSpec, LabError> {
        if n_secondaries > 253 {
            return Err(LabError::InvalidSpec {
                reason: format!("{n_secondaries} secondaries do not fit in 127.0.0.2-127.0.0.254"),
            });
        }
        let addrs: Vec<Ipv4Addr> = (0..=n_secondaries)
            .map(|i| Ipv4Addr::new(127, 0, 0, (i + 1) as u8))
            .collect();
        let ports = pick_test_ports(&addrs, n_secondaries + 1)?;
        let (dns_port, rndc_ports) = ports;
        let server = |i: usize| LabServerSpec {
            name: format!("ns{i}"),
            addr: addrs[i],
            port: dns_port,
            rndc_port: rndc_ports[i],
        };
        Ok(LabSpec {
            dir: dir.to_path_buf(),
            primary: server(0),
            secondaries: (1..=n_secondaries).map(server).collect(),
            catalogs,
            secondary_catalogs: Default::default(),
            tsig_key_name: "zonekeeper".to_string(),
            tsig_key_file: dir.join("tsig.key"),
            primary_rndc_conf: dir.join("ns0").join("rndc.conf"),
            include_dir: dir.join("include"),
            serial_query_rate: DEFAULT_SERIAL_QUERY_RATE,
            max_refresh_time: DEFAULT_MAX_REFRESH_TIME,
        })
    }

    /// All servers, the primary first.
    pub fn servers(&self) -> impl Iterator<Item = &LabServerSpec> {
        std::iter::once(&self.primary).chain(self.secondaries.iter())
    }

    /// The server called `name`, if the lab has one.
    pub fn server(&self, name: &str) -> Option<&LabServerSpec> {
        self.servers().find(|s| s.name == name)
    }

    /// The directory of the server called `name`: `dir/<name>`.
    pub fn server_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The `named.conf` of the server called `name`.
    pub fn named_conf_path(&self, name: &str) -> PathBuf {
        self.server_dir(name).join("named.conf")
    }

    /// The `rndc.conf` that controls the server called `name`: [`LabSpec::primary_rndc_conf`]
    /// for the primary, `dir/<name>/rndc.conf` for the others.
    pub fn rndc_conf_path(&self, name: &str) -> PathBuf {
        if name == self.primary.name {
            self.primary_rndc_conf.clone()
        } else {
            self.server_dir(name).join("rndc.conf")
        }
    }

    /// The file the primary includes: `<include_dir>/zones.conf`.
    pub fn zones_conf_path(&self) -> PathBuf {
        self.include_dir.join("zones.conf")
    }

    /// A lab of one more primary, for this lab's secondaries to move to: `name` on `addr`
    /// with this lab's DNS port and TSIG key, in directory `dir`, with an rndc port of its
    /// own. Catalogs name primaries without a port, so the secondaries reach it on the port
    /// they use for everything (their `port` option).
    pub fn another_primary(
        &self,
        dir: &Path,
        name: &str,
        addr: Ipv4Addr,
    ) -> Result<LabSpec, LabError> {
        let (_, rndc) = pick_test_ports(&[], 1)?;
        let primary = LabServerSpec {
            name: name.to_string(),
            addr,
            port: self.primary.port,
            rndc_port: rndc[0],
        };
        Ok(LabSpec {
            dir: dir.to_path_buf(),
            primary,
            secondaries: Vec::new(),
            catalogs: Vec::new(),
            secondary_catalogs: Default::default(),
            tsig_key_name: self.tsig_key_name.clone(),
            tsig_key_file: self.tsig_key_file.clone(),
            primary_rndc_conf: dir.join(name).join("rndc.conf"),
            include_dir: dir.join("include"),
            serial_query_rate: self.serial_query_rate,
            max_refresh_time: self.max_refresh_time,
        })
    }

    /// Every port the spec uses (DNS ports, then rndc ports), without duplicates.
    pub(crate) fn ports(&self) -> Vec<u16> {
        let mut ports: Vec<u16> = self.servers().map(|s| s.port).collect();
        ports.extend(self.servers().map(|s| s.rndc_port));
        let mut seen = HashSet::new();
        ports.retain(|p| seen.insert(*p));
        ports
    }
}

/// Makes the spec's paths absolute (named changes into its `directory`); creates `dir`.
pub(crate) fn normalize(spec: &mut LabSpec) -> Result<(), LabError> {
    fs::create_dir_all(&spec.dir).map_err(io_err("create directory", &spec.dir))?;
    spec.dir = fs::canonicalize(&spec.dir).map_err(io_err("resolve", &spec.dir))?;
    for path in [
        &mut spec.tsig_key_file,
        &mut spec.primary_rndc_conf,
        &mut spec.include_dir,
    ] {
        *path = std::path::absolute(&*path).map_err(io_err("resolve", path))?;
    }
    Ok(())
}

pub(crate) fn validate(spec: &LabSpec) -> Result<(), LabError> {
    let bad = |reason: String| Err(LabError::InvalidSpec { reason });
    let mut names = HashSet::new();
    let mut dns = HashSet::new();
    let mut rndc = HashSet::new();
    for s in spec.servers() {
        let name_ok = !s.name.is_empty()
            && s.name != "."
            && s.name != ".."
            && s.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return bad(format!("server name {:?} is not a plain file name", s.name));
        }
        if !names.insert(s.name.as_str()) {
            return bad(format!("two servers are called {}", s.name));
        }
        if s.port == 0 || s.rndc_port == 0 {
            return bad(format!("server {} has port 0", s.name));
        }
        if !dns.insert((s.addr, s.port)) {
            return bad(format!("two servers listen on {}", s.dns_addr()));
        }
        if !rndc.insert(s.rndc_port) {
            return bad(format!("rndc port {} is used twice", s.rndc_port));
        }
    }
    for s in spec.servers() {
        if s.addr == Ipv4Addr::LOCALHOST && rndc.contains(&s.port) {
            return bad(format!(
                "port {} of {} is also an rndc port on 127.0.0.1",
                s.port, s.name
            ));
        }
    }
    let word_ok = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | ';' | '{' | '}' | '\\'))
    };
    if !word_ok(&spec.tsig_key_name) {
        return bad(format!("TSIG key name {:?}", spec.tsig_key_name));
    }
    for cat in spec
        .catalogs
        .iter()
        .chain(spec.secondary_catalogs.values().flatten())
    {
        if !word_ok(cat.trim_end_matches('.')) || cat.contains('/') {
            return bad(format!("catalog zone name {cat:?}"));
        }
    }
    for path in [
        &spec.dir,
        &spec.tsig_key_file,
        &spec.primary_rndc_conf,
        &spec.include_dir,
    ] {
        let text = path.to_string_lossy();
        if text.contains('"') || text.contains('\\') || path.to_str().is_none() {
            return bad(format!("path {} cannot go in named.conf", path.display()));
        }
    }
    if spec.serial_query_rate == 0 {
        return bad("serial-query-rate 0".to_string());
    }
    if spec.max_refresh_time == 0 {
        return bad("max-refresh-time 0".to_string());
    }
    Ok(())
}
