//! The managed SOA serial: date-style `YYYYMMDDnn`, compared and advanced with RFC 1982
//! serial number arithmetic.
//!
//! zonekeeper owns the serial of every zone it manages. A new serial is the first
//! `YYYYMMDD00` of today when that is ahead of the current serial, otherwise the current
//! serial plus one; so a zone changed 150 times in a day simply runs ahead of the calendar
//! and catches up later, and a serial never goes backwards.

use hickory_proto::rr::SerialNumber;

/// The serial that follows `current` on the day `yyyymmdd` (e.g. `20261121`).
///
/// `current` is `None` for a zone that has no serial yet.
pub fn next_serial(current: Option<u32>, yyyymmdd: u32) -> u32 {
    let today = yyyymmdd.wrapping_mul(100);
    match current {
        None => today,
        Some(cur) if serial_gt(today, cur) => today,
        Some(cur) => cur.wrapping_add(1),
    }
}

/// `a > b` in RFC 1982 serial number arithmetic (undefined distances compare as false).
pub fn serial_gt(a: u32, b: u32) -> bool {
    SerialNumber::new(a) > SerialNumber::new(b)
}

/// `a >= b` in RFC 1982 serial number arithmetic.
pub fn serial_ge(a: u32, b: u32) -> bool {
    a == b || serial_gt(a, b)
}

/// The calendar date of a Unix time as `YYYYMMDD` (UTC).
pub fn yyyymmdd(unix_seconds: i64) -> u32 {
    let days = unix_seconds.div_euclid(86_400);
    let date = time::Date::from_julian_day(2_440_588 + days as i32).unwrap_or(time::Date::MIN);
    (date.year().max(0) as u32) * 10_000 + (date.month() as u32) * 100 + date.day() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_serial_is_today() {
        assert_eq!(next_serial(None, 20261121), 2026112100);
    }

    #[test]
    fn same_day_increments() {
        assert_eq!(next_serial(Some(2026112100), 20261121), 2026112101);
        assert_eq!(next_serial(Some(2026112199), 20261121), 2026112200);
    }

    #[test]
    fn new_day_jumps_to_date() {
        assert_eq!(next_serial(Some(2026112005), 20261121), 2026112100);
    }

    #[test]
    fn serial_ahead_of_calendar_keeps_counting() {
        assert_eq!(next_serial(Some(2030010100), 20261121), 2030010101);
    }

    #[test]
    fn wraps_per_rfc1982() {
        assert_eq!(next_serial(Some(u32::MAX), 20261121), 2026112100);
        assert!(serial_gt(3, u32::MAX - 1));
        assert!(!serial_gt(u32::MAX - 1, 3));
        // a serial 2^31 away is undefined: neither greater nor equal
        assert!(!serial_gt(0, 1 << 31) && !serial_gt(1 << 31, 0));
    }

    #[test]
    fn dates() {
        assert_eq!(yyyymmdd(0), 19700101);
        assert_eq!(yyyymmdd(1_795_219_200 + 86_399), 20261121);
        assert_eq!(yyyymmdd(951_782_400), 20000229);
    }
}
