//! RRsets as zonekeeper keeps them: the owner name and the record data in wire form (RFC
//! 1035 §3.3, names uncompressed, each record's RDLENGTH first), in one allocation of a
//! few dozen bytes where hickory's values take 80 for a name and 184 for each record. A
//! desired state of 40,000 zones holds some 1.1 million RRsets for the whole run; names
//! and values are decoded when they are used (an UPDATE, a canonical line, a delegation
//! check).
//!
//! [`ParsedRrset`] is an RRset as it is read and checked, its records as hickory values;
//! [`ParsedRrset::into_wire`] makes the [`Rrset`] kept, and refuses a record whose wire
//! form does not read back as the same value: a record that could not be sent intact is
//! an error when the zone is validated, not a loss when it is applied.

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder, NameEncoding, Restrict,
};

use super::record::{ValueError, ascii, presentation};

/// One RRset: every record of one type at one owner name, sharing one TTL.
#[derive(Clone, PartialEq, Eq)]
pub struct Rrset {
    /// The record type.
    pub rtype: RecordType,
    /// The TTL of the whole RRset.
    pub ttl: u32,
    /// The owner name (as written), then the records' data in the order written, each as
    /// RDLENGTH (two octets, network order) then RDATA.
    wire: Box<[u8]>,
}

/// An RRset as read, its records as hickory values (for the checks that look into
/// them); [`ParsedRrset::into_wire`] makes the [`Rrset`] kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRrset {
    /// The owner name, fully qualified.
    pub owner: Name,
    /// The record type.
    pub rtype: RecordType,
    /// The TTL of the whole RRset.
    pub ttl: u32,
    /// The record data, in the order written.
    pub rdatas: Vec<RData>,
}

impl ParsedRrset {
    /// The RRset in wire form; `Err((i, why))` when record `i` cannot be written, or does
    /// not read back as the value it was written from.
    pub fn into_wire(self) -> Result<Rrset, (usize, ValueError)> {
        let mut wire = Vec::new();
        let mut scratch = Vec::new();
        let mut encoder = BinEncoder::new(&mut scratch);
        encoder.set_name_encoding(NameEncoding::Uncompressed);
        let owner = self.owner.emit(&mut encoder);
        match owner.map(|()| Name::read(&mut BinDecoder::new(&scratch))) {
            Ok(Ok(back)) if back == self.owner => wire.extend(&scratch),
            _ => {
                let message = format!(
                    "the owner name {} cannot be sent in a DNS message",
                    self.owner
                );
                let help = "write a name of at most 255 octets".to_string();
                return Err((0, ValueError { message, help }));
            }
        }
        for (i, rdata) in self.rdatas.iter().enumerate() {
            let rdata = encode(rdata, self.rtype, &mut scratch).map_err(|e| (i, e))?;
            wire.extend(rdata);
        }
        Ok(Rrset {
            rtype: self.rtype,
            ttl: self.ttl,
            wire: wire.into_boxed_slice(),
        })
    }
}

/// `rdata`'s RDLENGTH and RDATA, written into `scratch`, checked to read back the same.
fn encode<'s>(
    rdata: &RData,
    rtype: RecordType,
    scratch: &'s mut Vec<u8>,
) -> Result<&'s [u8], ValueError> {
    let unsendable = |why: String| ValueError {
        message: format!("this {rtype} record cannot be sent in a DNS message: {why}"),
        help: "write the value so that it fits in one record (at most 65,535 octets)".to_string(),
    };
    scratch.clear();
    scratch.extend([0, 0]);
    let mut encoder = BinEncoder::with_offset(scratch, 2);
    encoder.set_name_encoding(NameEncoding::Uncompressed);
    rdata
        .emit(&mut encoder)
        .map_err(|e| unsendable(e.to_string()))?;
    let len = scratch.len() - 2;
    let len16 = u16::try_from(len).map_err(|_| unsendable(format!("{len} octets")))?;
    scratch[..2].copy_from_slice(&len16.to_be_bytes());
    match decode(rtype, &scratch[2..]) {
        Ok(back) if &back == rdata => Ok(&scratch[..]),
        Ok(back) => Err(unsendable(format!(
            "it reads back as `{}`",
            presentation(&back)
        ))),
        Err(e) => Err(unsendable(e)),
    }
}

/// RDATA of `rtype` read from its wire octets.
pub(crate) fn decode(rtype: RecordType, rdata: &[u8]) -> Result<RData, String> {
    let mut decoder = BinDecoder::new(rdata);
    RData::read(&mut decoder, rtype, Restrict::new(rdata.len() as u16)).map_err(|e| e.to_string())
}

impl Rrset {
    /// The owner name, fully qualified, as written. Read back when the RRset was made, so
    /// it decodes.
    pub fn owner(&self) -> Name {
        Name::read(&mut BinDecoder::new(&self.wire)).unwrap_or_else(|_| Name::root())
    }

    /// The length of the owner name's wire form: its labels, each with its length octet,
    /// up to the root's empty label.
    fn owner_len(&self) -> usize {
        let mut at = 0;
        while let Some(&len) = self.wire.get(at) {
            at += 1 + usize::from(len);
            if len == 0 {
                break;
            }
        }
        at.min(self.wire.len())
    }

    /// The records' data, decoded. Each was read back when the RRset was made
    /// ([`ParsedRrset::into_wire`]), so each decodes.
    pub fn rdatas(&self) -> impl Iterator<Item = RData> + '_ {
        // the same bytes decoded when the RRset was made
        self.rdatas_wire()
            .filter_map(|rdata| decode(self.rtype, rdata).ok())
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.rdatas_wire().count()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.wire.len() == self.owner_len()
    }

    fn rdatas_wire(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.wire[self.owner_len()..];
        std::iter::from_fn(move || {
            let (len, after) = rest.split_first_chunk::<2>()?;
            let (rdata, after) = after.split_at(usize::from(u16::from_be_bytes(*len)));
            rest = after;
            Some(rdata)
        })
    }

    /// The RRset's records, ready for an UPDATE message.
    pub fn records(&self) -> Vec<Record> {
        let owner = self.owner();
        self.rdatas()
            .map(|d| Record::from_rdata(owner.clone(), self.ttl, d))
            .collect()
    }

    /// The canonical presentation lines of this RRset (`owner ttl IN TYPE rdata`), sorted.
    pub fn lines(&self) -> Vec<String> {
        let owner = ascii(&self.owner());
        let mut lines: Vec<String> = self
            .rdatas()
            .map(|d| {
                format!(
                    "{owner} {} IN {} {}",
                    self.ttl,
                    super::types::type_name(self.rtype),
                    presentation(&d)
                )
            })
            .collect();
        lines.sort();
        lines
    }
}

impl std::fmt::Debug for Rrset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rrset")
            .field("owner", &self.owner())
            .field("rtype", &self.rtype)
            .field("ttl", &self.ttl)
            .field("rdatas", &self.rdatas().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::parse_rdata;

    fn parsed(rtype: RecordType, values: &[&str]) -> ParsedRrset {
        let origin = Name::from_ascii("example.com.").unwrap();
        ParsedRrset {
            owner: Name::from_ascii("WWW.example.com.").unwrap(),
            rtype,
            ttl: 60,
            rdatas: values
                .iter()
                .map(|v| parse_rdata(rtype, v, &origin).unwrap())
                .collect(),
        }
    }

    #[test]
    fn every_supported_type_reads_back_from_wire_form_as_written() {
        let long_txt = "y".repeat(700);
        let cases: &[(RecordType, &[&str])] = &[
            (RecordType::A, &["192.0.2.1", "192.0.2.2"]),
            (RecordType::AAAA, &["2001:db8::1"]),
            (
                RecordType::CAA,
                &[
                    "0 issue \"ca.example.net\"",
                    "128 iodef \"mailto:x@example.com\"",
                ],
            ),
            (RecordType::CNAME, &["Target.Example.net."]),
            (RecordType::MX, &["10 mail", "20 mx.example.net."]),
            (RecordType::NS, &["ns1.example.net.", "ns2"]),
            (RecordType::PTR, &["host.example.com."]),
            (RecordType::SRV, &["10 60 5060 sip.example.net."]),
            (
                RecordType::TXT,
                &["v=spf1 -all", "x \"quoted\" \\ text", &long_txt],
            ),
        ];
        for (rtype, values) in cases {
            let p = parsed(*rtype, values);
            let r = p.clone().into_wire().unwrap();
            assert_eq!(r.rdatas().collect::<Vec<_>>(), p.rdatas, "{rtype}");
            assert_eq!(r.len(), values.len());
            assert_eq!(r.records().len(), values.len());
            assert_eq!(r.owner(), p.owner);
            assert_eq!(r.owner().to_ascii(), "WWW.example.com.", "as written");
        }
    }

    #[test]
    fn rrset_lines_are_sorted_and_lowercase() {
        let set = parsed(RecordType::A, &["192.0.2.2", "192.0.2.1"])
            .into_wire()
            .unwrap();
        assert_eq!(
            set.lines(),
            vec![
                "www.example.com. 60 IN A 192.0.2.1",
                "www.example.com. 60 IN A 192.0.2.2"
            ]
        );
    }

    #[test]
    fn a_record_too_long_for_a_message_is_refused_with_its_index() {
        // parsing refuses such a TXT value; a value made another way is refused here
        let mut set = parsed(RecordType::TXT, &["short"]);
        let strings = vec!["z".repeat(250); 300];
        set.rdatas
            .push(RData::TXT(hickory_proto::rr::rdata::TXT::new(strings)));
        let err = set.into_wire().unwrap_err();
        assert_eq!(err.0, 1);
        assert!(
            err.1.message.contains("cannot be sent"),
            "{}",
            err.1.message
        );
    }
}
