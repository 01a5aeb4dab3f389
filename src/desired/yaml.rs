//! The YAML shapes of the desired-state files, as serde reads them, with the source span
//! of every value an operator may get wrong. `schema/` holds the same shapes as JSON Schema.

use indexmap::IndexMap;
use serde::de::{Error as _, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use super::problem::Place;

/// A value and the place it is written: serde-saphyr's [`Spanned`], reduced to what the
/// messages use, so that a zone file read straight from the parser's events
/// ([`super::plain`]) has the same places. Equal and hashed by value alone.
#[derive(Debug, Clone)]
pub struct At<T> {
    /// The value.
    pub value: T,
    /// Where it is written (for an alias, where it is referenced).
    pub place: Place,
}

impl<T: PartialEq> PartialEq for At<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for At<T> {}

impl<T: std::hash::Hash> std::hash::Hash for At<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(At {
            value: s.value,
            place: Place::of(&s.referenced),
        })
    }
}

/// `zonekeeper.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The hidden primary.
    pub primary: PrimaryYaml,
    /// Secondaries by name.
    #[serde(default)]
    pub secondaries: IndexMap<At<String>, SecondaryYaml>,
    /// Groups by name.
    #[serde(default)]
    pub groups: IndexMap<At<String>, GroupYaml>,
    /// Where the daemon reports what needs a person.
    #[serde(default)]
    pub webhooks: Vec<At<WebhookYaml>>,
}

/// `webhooks: - …`: where the daemon POSTs an event. The URL may carry a token, so it is
/// never written in the repository: a file or an environment variable holds it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookYaml {
    /// A file holding the URL.
    pub url_file: Option<At<String>>,
    /// An environment variable holding the URL.
    pub url_env: Option<At<String>>,
    /// A URL written in the repository: always refused, named so it can be pointed at.
    pub url: Option<At<String>>,
    /// Which events (default: all).
    pub events: Option<Vec<At<String>>>,
}

/// `primary:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrimaryYaml {
    /// A label for messages.
    pub name: Option<String>,
    /// Its DNS address.
    pub address: At<String>,
    /// Its DNS port (1-65535).
    pub port: Option<At<u16>>,
    /// The most records of one type at one name the servers load (BIND's
    /// `max-records-per-type`; default 100, 0 for no limit).
    pub max_records_per_type: Option<At<u64>>,
    /// Whether the servers check host names as BIND's `check-names primary fail` does
    /// (default true).
    pub check_names: Option<bool>,
    /// The TSIG key.
    pub tsig: TsigYaml,
    /// The control channel.
    pub control: ControlYaml,
}

/// `primary.tsig:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsigYaml {
    /// Key name.
    pub name: At<String>,
    /// Algorithm (hmac-sha256).
    pub algorithm: Option<At<String>>,
    /// File holding the secret.
    pub secret_file: Option<At<String>>,
    /// Environment variable holding the secret.
    pub secret_env: Option<At<String>>,
    /// A secret written in the repository: always refused, named so it can be pointed at.
    pub secret: Option<At<String>>,
}

/// `primary.control:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlYaml {
    /// The rndc program.
    pub rndc: Option<String>,
    /// rndc.conf reaching the primary.
    pub rndc_conf: At<String>,
    /// Where zonekeeper writes zones.conf and zone files.
    pub config_dir: At<String>,
}

/// `secondaries.NAME:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondaryYaml {
    /// IPv4/IPv6 addresses.
    pub addresses: Vec<At<String>>,
    /// DNS port (1-65535).
    pub port: Option<At<u16>>,
    /// bind or knot.
    pub software: Option<At<String>>,
    /// The name published for it in NS RRsets (absent for a stealth secondary).
    pub nameserver: Option<At<String>>,
}

/// `groups.NAME:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupYaml {
    /// The catalog zone's name.
    pub catalog: At<String>,
    /// Member secondaries.
    pub secondaries: Vec<At<String>>,
    /// Apex NS names.
    pub nameservers: Vec<At<String>>,
    /// How many secondaries must serve a change for it to count as served.
    pub quorum: Option<At<u64>>,
    /// Default TTL.
    pub ttl: Option<At<u64>>,
    /// Default SOA values.
    pub soa: SoaYaml,
}

/// SOA values (group defaults, or a zone's overrides).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SoaYaml {
    /// MNAME.
    pub mname: Option<At<String>>,
    /// RNAME (hostmaster.example.net. or hostmaster@example.net).
    pub rname: Option<At<String>>,
    /// Refresh.
    pub refresh: Option<At<u64>>,
    /// Retry.
    pub retry: Option<At<u64>>,
    /// Expire.
    pub expire: Option<At<u64>>,
    /// Negative-caching TTL.
    pub minimum: Option<At<u64>>,
    /// TTL of the SOA record.
    pub ttl: Option<At<u64>>,
}

/// `zones/<zone>.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneFile {
    /// The group that serves the zone.
    pub group: At<String>,
    /// Default TTL of the zone's RRsets.
    pub ttl: Option<At<u64>>,
    /// SOA overrides.
    #[serde(default)]
    pub soa: SoaYaml,
    /// Whether the apex NS RRset comes from the group (default true).
    pub group_nameservers: Option<At<bool>>,
    /// How the parent's delegation is checked when the zone's servers change.
    pub delegation: Option<DelegationYaml>,
    /// A reverse zone whose PTRs are derived from the A/AAAA records of the desired
    /// state's zones (`super::auto_ptr`).
    pub auto_ptr: Option<At<bool>>,
    /// Records by owner name, then by type.
    #[serde(default)]
    pub records: IndexMap<At<String>, IndexMap<At<String>, At<RrsetYaml>>>,
}

/// `delegation:` of a zone whose parent zone is not managed here.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegationYaml {
    /// The parent zone's servers (`address` or `address:port`), asked with recursion off
    /// whether they delegate with the new NS set. Without them an operator confirms.
    #[serde(default)]
    pub parent_servers: Vec<At<String>>,
}

/// One RRset as written: a value, a list of values, or `{ttl, values}` / `{ttl, value}`.
#[derive(Debug, Default)]
pub struct RrsetYaml {
    /// TTL, when given.
    pub ttl: Option<At<u64>>,
    /// Values with their spans; a lone scalar has none of its own (see `scalar`).
    pub values: Vec<At<String>>,
    /// A lone scalar value; its span is the RRset's.
    pub scalar: Option<String>,
    /// Values given as a list of character-strings (TXT and SPF), kept as given.
    pub strings: Vec<At<Vec<String>>>,
    /// The values (indices into `values`) that YAML resolved to numbers or booleans,
    /// whose text is taken from the source.
    pub resolved: Vec<usize>,
    /// Whether the lone scalar was so resolved.
    pub scalar_resolved: bool,
    /// A planned cut-over: the change to this RRset is staged (lower TTL, wait, switch,
    /// soak, restore TTL).
    pub cutover: Option<At<CutoverYaml>>,
    /// `ptr: false` on an A/AAAA RRset of a zone: no PTR is derived from it for a reverse
    /// zone with `auto_ptr`.
    pub ptr: Option<At<bool>>,
}

/// `cutover:` of an RRset.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CutoverYaml {
    /// TTL while the change is under way (default 300).
    pub short_ttl: Option<u64>,
    /// How long to keep the short TTL after the switch, for a quick back-out (default 3600).
    pub soak: Option<u64>,
}

impl<'de> Deserialize<'de> for RrsetYaml {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RrsetYaml;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a value, a list of values, or a mapping with `ttl` and `values`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RrsetYaml, E> {
                Ok(RrsetYaml {
                    scalar: Some(v.to_string()),
                    ..Default::default()
                })
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<RrsetYaml, E> {
                resolved(v)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<RrsetYaml, E> {
                resolved(v)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<RrsetYaml, E> {
                resolved(v)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<RrsetYaml, E> {
                resolved(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RrsetYaml, A::Error> {
                let mut out = RrsetYaml::default();
                while let Some(v) = seq.next_element::<At<Element>>()? {
                    out.push(v);
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RrsetYaml, A::Error> {
                let mut out = RrsetYaml::default();
                // `value` and `values` both given: which one first (one or the other)
                let mut given: Option<String> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if (key == "value" || key == "values")
                        && let Some(first) = given.replace(key.clone())
                    {
                        return Err(A::Error::custom(format!(
                            "`{key}` after `{first}`: an RRset gives either `value` (one record) or `values` (a list), not both; put every record in `values`"
                        )));
                    }
                    match key.as_str() {
                        "ttl" => out.ttl = Some(map.next_value()?),
                        "values" => {
                            for v in map.next_value::<Vec<At<Element>>>()? {
                                out.push(v);
                            }
                        }
                        "value" => {
                            let v = map.next_value::<At<Element>>()?;
                            out.push(v);
                        }
                        "cutover" => out.cutover = Some(map.next_value()?),
                        "ptr" => out.ptr = Some(map.next_value()?),
                        other => {
                            return Err(A::Error::unknown_field(
                                other,
                                &["ttl", "values", "value", "cutover", "ptr"],
                            ));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// A lone scalar YAML resolved to a number or boolean; its text is taken from the source.
fn resolved<E>(v: impl ToString) -> Result<RrsetYaml, E> {
    Ok(RrsetYaml {
        scalar: Some(v.to_string()),
        scalar_resolved: true,
        ..Default::default()
    })
}

impl ZoneFile {
    /// Puts back, from `text` (the file read), the values written as plain scalars that
    /// YAML resolved to numbers or booleans: a record's value is the text written
    /// (`1.10`, `yes`, `010`), never `1.1`, `true` or `8`.
    pub fn raw_scalars(&mut self, text: &str) {
        let raw = |place: &Place| {
            text.get(place.offset..place.offset + place.len)
                .map(|t| t.trim().to_string())
        };
        for types in self.records.values_mut() {
            for rrset in types.values_mut() {
                let place = rrset.place;
                let r = &mut rrset.value;
                for &i in &r.resolved {
                    if let Some(v) = r.values.get_mut(i)
                        && let Some(t) = raw(&v.place)
                    {
                        v.value = t;
                    }
                }
                if r.scalar_resolved
                    && let Some(t) = raw(&place)
                {
                    r.scalar = Some(t);
                }
            }
        }
    }
}

impl RrsetYaml {
    fn push(&mut self, v: At<Element>) {
        match v.value {
            Element::Text(t) => self.values.push(At {
                value: t,
                place: v.place,
            }),
            Element::Resolved(t) => {
                self.resolved.push(self.values.len());
                self.values.push(At {
                    value: t,
                    place: v.place,
                });
            }
            Element::Strings(l) => self.strings.push(At {
                value: l,
                place: v.place,
            }),
        }
    }
}

/// One value of an RRset: its text, a plain scalar YAML resolved to a number or boolean
/// (its text is taken from the source: see [`ZoneFile::raw_scalars`]), or (TXT, SPF) a
/// list of character-strings.
#[derive(Debug)]
enum Element {
    Text(String),
    Resolved(String),
    Strings(Vec<String>),
}

impl<'de> Deserialize<'de> for Element {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Element;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a value, or a list of strings (a TXT record's character-strings)")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Element, E> {
                Ok(Element::Text(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Element, E> {
                Ok(Element::Resolved(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Element, E> {
                Ok(Element::Resolved(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Element, E> {
                Ok(Element::Resolved(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Element, E> {
                Ok(Element::Resolved(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Element::Strings(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses one YAML document, or returns the parser's message and location.
pub fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str(text)
}
