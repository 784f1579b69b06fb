//! `ASN1_TIME_print` in OpenSSL's RFC 822 style: `Mar  1 12:00:00 2020 GMT`.
//!
//! The parser mirrors `ossl_asn1_time_to_tm` in its lenient (non-RFC 5280) mode, which is
//! how certificate times are read: seconds may be missing and `+hhmm`/`-hhmm` offsets are
//! folded into GMT. Invalid values print as OpenSSL's `Bad time value`.

use super::der::{tag, Tlv};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A broken-down GMT time plus the fractional-second digits to print.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tm {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    fraction: String,
}

/// Renders a UTCTime or GeneralizedTime element.
pub(super) fn render(time: &Tlv<'_>) -> String {
    let generalized = time.is_universal(tag::GENERALIZED_TIME);
    if !generalized && !time.is_universal(tag::UTC_TIME) {
        return "Bad time value".to_string();
    }
    match parse(time.content, generalized) {
        Some(tm) => format_tm(&tm),
        None => "Bad time value".to_string(),
    }
}

/// Renders a GeneralizedTime given as text (used for SCT timestamps).
pub(super) fn render_generalized(text: &str) -> String {
    match parse(text.as_bytes(), true) {
        Some(tm) => format_tm(&tm),
        None => "Bad time value".to_string(),
    }
}

fn format_tm(tm: &Tm) -> String {
    let month = MONTHS
        .get(tm.month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("???");
    let fraction = if tm.fraction.is_empty() {
        String::new()
    } else {
        format!(".{}", tm.fraction)
    };
    format!(
        "{month} {:2} {:02}:{:02}:{:02}{fraction} {} GMT",
        tm.day, tm.hour, tm.minute, tm.second, tm.year
    )
}

/// Reads two ASCII digits at `*pos`, advancing past them.
fn two_digits(text: &[u8], pos: &mut usize) -> Option<u32> {
    let hi = *text.get(*pos)?;
    let lo = *text.get(*pos + 1)?;
    if !hi.is_ascii_digit() || !lo.is_ascii_digit() {
        return None;
    }
    *pos += 2;
    Some(u32::from(hi - b'0') * 10 + u32::from(lo - b'0'))
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Field ranges for century, year, month, day, hour, minute, second, offset hours/minutes.
const MIN: [u32; 9] = [0, 0, 1, 1, 0, 0, 0, 0, 0];
const MAX: [u32; 9] = [99, 99, 12, 31, 23, 59, 59, 12, 59];

fn parse(text: &[u8], generalized: bool) -> Option<Tm> {
    let (min_len, fields, tz_field) = if generalized { (13, 7, 6) } else { (11, 6, 5) };
    if text.len() < min_len {
        return None;
    }
    let mut tm = Tm {
        year: 0,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        fraction: String::new(),
    };
    let mut pos = 0;
    for field in 0..fields {
        // Seconds may be omitted when the zone follows the minutes directly.
        if field == tz_field && matches!(text.get(pos), Some(b'Z' | b'+' | b'-')) {
            break;
        }
        let n = two_digits(text, &mut pos)?;
        if pos >= text.len() {
            return None;
        }
        let slot = if generalized { field } else { field + 1 };
        if n < MIN[slot] || n > MAX[slot] {
            return None;
        }
        match slot {
            0 => tm.year = i64::from(n) * 100,
            1 if generalized => tm.year += i64::from(n),
            1 => {
                tm.year = if n < 50 {
                    2000 + i64::from(n)
                } else {
                    1900 + i64::from(n)
                }
            }
            2 => tm.month = n,
            3 => {
                if n > days_in_month(tm.year, tm.month) {
                    return None;
                }
                tm.day = n;
            }
            4 => tm.hour = n,
            5 => tm.minute = n,
            _ => tm.second = n,
        }
    }
    if generalized && text.get(pos) == Some(&b'.') {
        pos += 1;
        let start = pos;
        while text.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
        if pos == start || pos >= text.len() {
            return None;
        }
        tm.fraction = String::from_utf8_lossy(text.get(start..pos)?).into_owned();
    }
    match text.get(pos) {
        Some(b'Z') => pos += 1,
        Some(sign @ (b'+' | b'-')) => {
            let east = *sign == b'+';
            pos += 1;
            if pos + 4 != text.len() {
                return None;
            }
            let hours = two_digits(text, &mut pos)?;
            let minutes = two_digits(text, &mut pos)?;
            if hours > MAX[7] || minutes > MAX[8] {
                return None;
            }
            let offset = i64::from(hours * 3600 + minutes * 60);
            // Local time east of Greenwich is ahead of GMT, so subtract.
            shift(&mut tm, if east { -offset } else { offset });
        }
        _ => return None,
    }
    (pos == text.len()).then_some(tm)
}

/// Moves `tm` by `seconds`, carrying into days, months and years.
fn shift(tm: &mut Tm, seconds: i64) {
    if seconds == 0 {
        return;
    }
    let day_seconds =
        i64::from(tm.hour) * 3600 + i64::from(tm.minute) * 60 + i64::from(tm.second) + seconds;
    let days = days_from_civil(tm.year, tm.month, tm.day) + day_seconds.div_euclid(86_400);
    let rem = day_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    tm.year = year;
    tm.month = month;
    tm.day = day;
    tm.hour = (rem / 3600) as u32;
    tm.minute = (rem % 3600 / 60) as u32;
    tm.second = (rem % 60) as u32;
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> String {
        parse(s.as_bytes(), false).map_or("Bad time value".into(), |t| format_tm(&t))
    }

    fn gen(s: &str) -> String {
        parse(s.as_bytes(), true).map_or("Bad time value".into(), |t| format_tm(&t))
    }

    #[test]
    fn formats() {
        assert_eq!(utc("200301120000Z"), "Mar  1 12:00:00 2020 GMT");
        assert_eq!(utc("491231235959Z"), "Dec 31 23:59:59 2049 GMT");
        assert_eq!(utc("500101000000Z"), "Jan  1 00:00:00 1950 GMT");
        assert_eq!(utc("2003011200Z"), "Mar  1 12:00:00 2020 GMT");
        assert_eq!(utc("200301120000+0130"), "Mar  1 10:30:00 2020 GMT");
        assert_eq!(utc("200101000000-0100"), "Jan  1 01:00:00 2020 GMT");
        assert_eq!(utc("200101000000+0100"), "Dec 31 23:00:00 2019 GMT");
        assert_eq!(gen("20500101000000Z"), "Jan  1 00:00:00 2050 GMT");
        assert_eq!(gen("20500101000000.123Z"), "Jan  1 00:00:00.123 2050 GMT");
        assert_eq!(utc("200230120000Z"), "Bad time value");
        assert_eq!(utc("2003011200"), "Bad time value");
        assert_eq!(gen("20500101000000."), "Bad time value");
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000i64, -1, 0, 1, 59, 10_957, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
