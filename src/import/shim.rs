//! TEMP until main has model::types and model::record::parse_master: stand-ins with the
//! same names and signatures, removed by `git merge main`.

use hickory_proto::rr::{Name, RData, RecordType};

use crate::model::record::ValueError;

/// TEMP: a record type from its name (`A`, `TYPE65534`), any case.
pub fn type_from_name(name: &str) -> Option<RecordType> {
    let upper = name.to_ascii_uppercase();
    if let Some(code) = upper.strip_prefix("TYPE") {
        return code.parse::<u16>().ok().map(RecordType::from);
    }
    upper.parse::<RecordType>().ok()
}

/// TEMP: a record type's name.
pub fn type_name(rtype: RecordType) -> String {
    match rtype {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        other => other.to_string(),
    }
}

/// TEMP: RDATA as written in a master file, read by hickory's zone-file parser.
pub fn parse_master(rtype: RecordType, text: &str, origin: &Name) -> Result<RData, ValueError> {
    let bad = |m: String| ValueError {
        message: m,
        help: format!(
            "{rtype} values are written as {}",
            crate::model::record::example(rtype)
        ),
    };
    let line = format!("@ 0 IN {} {text}\n", type_name(rtype));
    let parsed =
        hickory_proto::serialize::txt::Parser::new(line.as_str(), None, Some(origin.clone()))
            .parse()
            .map_err(|e| bad(format!("invalid {rtype} value: {e}")))?;
    parsed
        .1
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .map(|r| r.data)
        .find(|d| d.record_type() == rtype)
        .ok_or_else(|| bad(format!("invalid {rtype} value")))
}
