//! UTC calendar arithmetic (no time zone database, no clock): epoch
//! milliseconds <-> civil dates, the key time buckets and ISO-8601 timestamps
//! exactly as JavaScript's `Date.prototype.toISOString` writes them.

use crate::error::{Error, Result};

const MS_PER_DAY: i64 = 86_400_000;
/// Years 0000..=9999 only: the range `toISOString` prints without a sign.
const MIN_MS: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00.000Z
const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

/// A UTC time bucket used in key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// `YYYY-MM-DD`, e.g. `2026-11-27`.
    Date,
    /// `YYYY-MM-DDTHH`, e.g. `2026-11-27T18`.
    Hour,
    /// `YYYY-MM-DDTHHMM`, e.g. `2026-11-27T1836` (no `:`: it is the key separator).
    Minute,
}

impl Bucket {
    pub fn name(self) -> &'static str {
        match self {
            Bucket::Date => "date",
            Bucket::Hour => "hour",
            Bucket::Minute => "minute",
        }
    }
    pub fn format(self) -> &'static str {
        match self {
            Bucket::Date => "YYYY-MM-DD",
            Bucket::Hour => "YYYY-MM-DDTHH",
            Bucket::Minute => "YYYY-MM-DDTHHMM",
        }
    }
    /// Length of the bucket in milliseconds.
    pub fn span_ms(self) -> u64 {
        match self {
            Bucket::Date => 86_400_000,
            Bucket::Hour => 3_600_000,
            Bucket::Minute => 60_000,
        }
    }
    pub fn parse_name(s: &str) -> Option<Bucket> {
        match s {
            "date" => Some(Bucket::Date),
            "hour" => Some(Bucket::Hour),
            "minute" => Some(Bucket::Minute),
            _ => None,
        }
    }
}

/// Days since 1970-01-01 -> (year, month 1-12, day 1-31). Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// (year, month, day) -> days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

struct Civil {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
    ms: u32,
}

fn civil(ms: i64) -> Civil {
    let (days, rem) = (ms.div_euclid(MS_PER_DAY), ms.rem_euclid(MS_PER_DAY));
    let (y, mo, d) = civil_from_days(days);
    let rem = rem as u32;
    Civil {
        y,
        mo,
        d,
        h: rem / 3_600_000,
        mi: rem / 60_000 % 60,
        s: rem / 1000 % 60,
        ms: rem % 1000,
    }
}

fn check_ms(ms: f64) -> Result<i64> {
    if !ms.is_finite() || ms.fract() != 0.0 || ms < MIN_MS as f64 || ms > MAX_MS as f64 {
        return Err(Error::InvalidTimestamp {
            value: crate::error::num(ms),
            reason: "must be integer epoch milliseconds between years 0000 and 9999".into(),
        });
    }
    Ok(ms as i64)
}

/// The bucket containing `epoch_ms`, e.g. `time_bucket(Bucket::Hour, 1_795_890_000_000.0)`.
pub fn time_bucket(kind: Bucket, epoch_ms: f64) -> Result<String> {
    let c = civil(check_ms(epoch_ms)?);
    Ok(match kind {
        Bucket::Date => format!("{:04}-{:02}-{:02}", c.y, c.mo, c.d),
        Bucket::Hour => format!("{:04}-{:02}-{:02}T{:02}", c.y, c.mo, c.d, c.h),
        Bucket::Minute => format!("{:04}-{:02}-{:02}T{:02}{:02}", c.y, c.mo, c.d, c.h, c.mi),
    })
}

/// Parses `n` ASCII digits.
fn digits(s: &[u8]) -> Option<u32> {
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

/// Parses `YYYY-MM-DD` at the start of `s`, validating the calendar.
fn parse_date(s: &[u8]) -> Option<(i64, u32, u32)> {
    if s.len() < 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, m, d) = (
        i64::from(digits(&s[0..4])?),
        digits(&s[5..7])?,
        digits(&s[8..10])?,
    );
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)).then_some((y, m, d))
}

/// Start of a bucket in epoch milliseconds; the strict inverse of [`time_bucket`].
pub fn parse_bucket(kind: Bucket, value: &str) -> Result<i64> {
    let bad = || Error::InvalidTimeBucket {
        kind: kind.name(),
        value: value.into(),
        format: kind.format(),
    };
    let s = value.as_bytes();
    let expected_len = match kind {
        Bucket::Date => 10,
        Bucket::Hour => 13,
        Bucket::Minute => 15,
    };
    if s.len() != expected_len {
        return Err(bad());
    }
    let (y, m, d) = parse_date(s).ok_or_else(bad)?;
    let (h, mi) = match kind {
        Bucket::Date => (0, 0),
        _ if s[10] != b'T' => return Err(bad()),
        Bucket::Hour => (digits(&s[11..13]).ok_or_else(bad)?, 0),
        Bucket::Minute => (
            digits(&s[11..13]).ok_or_else(bad)?,
            digits(&s[13..15]).ok_or_else(bad)?,
        ),
    };
    if h > 23 || mi > 59 {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * MS_PER_DAY + i64::from(h) * 3_600_000 + i64::from(mi) * 60_000)
}

/// `Date.prototype.toISOString`: `2026-11-27T18:36:12.000Z`.
pub fn iso_string(epoch_ms: f64) -> Result<String> {
    let c = civil(check_ms(epoch_ms)?);
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        c.y, c.mo, c.d, c.h, c.mi, c.s, c.ms
    ))
}

/// Parses a UTC ISO-8601 timestamp `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z` into epoch ms.
pub fn parse_iso(value: &str) -> Result<i64> {
    let bad = || Error::InvalidTimestamp {
        value: format!("{value:?}"),
        reason: "expected UTC ISO-8601 like 2026-11-27T18:36:12.000Z".into(),
    };
    let s = value.as_bytes();
    if s.len() < 20 || s[10] != b'T' || s[13] != b':' || s[16] != b':' || s[s.len() - 1] != b'Z' {
        return Err(bad());
    }
    let (y, m, d) = parse_date(s).ok_or_else(bad)?;
    let h = digits(&s[11..13]).ok_or_else(bad)?;
    let mi = digits(&s[14..16]).ok_or_else(bad)?;
    let sec = digits(&s[17..19]).ok_or_else(bad)?;
    let frac = &s[19..s.len() - 1];
    let ms = match frac {
        [] => 0,
        [b'.', f @ ..] if (1..=3).contains(&f.len()) => {
            digits(f).ok_or_else(bad)? * 10u32.pow(3 - f.len() as u32)
        }
        _ => return Err(bad()),
    };
    if h > 23 || mi > 59 || sec > 59 {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d) * MS_PER_DAY
        + i64::from(h) * 3_600_000
        + i64::from(mi) * 60_000
        + i64::from(sec) * 1000
        + i64::from(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso_string(0.0).unwrap(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_string(951_782_400_000.0).unwrap(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            time_bucket(Bucket::Minute, 1_795_890_972_345.0).unwrap(),
            "2026-11-28T1836"
        );
        assert_eq!(
            parse_bucket(Bucket::Hour, "2026-11-27T18").unwrap(),
            1_795_802_400_000
        );
    }

    #[test]
    fn rejects_bad_buckets() {
        for (k, v) in [
            (Bucket::Date, "2026-02-29"),
            (Bucket::Date, "2026-13-01"),
            (Bucket::Date, "2026-1-01"),
            (Bucket::Hour, "2026-11-27T24"),
            (Bucket::Hour, "2026-11-27 18"),
            (Bucket::Minute, "2026-11-27T18:36"),
            (Bucket::Minute, "2026-11-27T1860"),
        ] {
            let e = parse_bucket(k, v).unwrap_err();
            assert_eq!(e.code(), "INVALID_TIME_BUCKET", "{v}");
        }
        assert!(parse_iso("2026-11-27T18:36:12+01:00").is_err());
        assert!(iso_string(f64::NAN).is_err());
        assert!(iso_string(1.5).is_err());
    }

    proptest! {
        #[test]
        fn buckets_round_trip(ms in MIN_MS..=MAX_MS) {
            for kind in [Bucket::Date, Bucket::Hour, Bucket::Minute] {
                let b = time_bucket(kind, ms as f64).unwrap();
                let start = parse_bucket(kind, &b).unwrap();
                prop_assert!(start <= ms && ms - start < kind.span_ms() as i64);
            }
            prop_assert_eq!(parse_iso(&iso_string(ms as f64).unwrap()).unwrap(), ms);
        }
    }
}
