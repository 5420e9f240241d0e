//! The two ISO 8601 forms the data uses: a calendar date (`2024-02-29`) and a date-time
//! with an offset (`2024-02-29T13:45:00-03:00`, `2024-02-29T16:45:00.250Z`).
//!
//! Written by hand because these two checks are all we need, and a date crate would
//! cost every user of the library a dependency.

/// True when `s` is a calendar date `YYYY-MM-DD` that exists (leap years included).
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let (Some(year), Some(month), Some(day)) =
        (number(&b[0..4]), number(&b[5..7]), number(&b[8..10]))
    else {
        return false;
    };
    (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)
}

/// True when `s` is a date, or a date-time `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by
/// `Z` or an offset `±HH:MM`.
pub(crate) fn is_date_or_date_time(s: &str) -> bool {
    is_date(s) || is_date_time(s)
}

fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.is_ascii() || !is_date(&s[..10]) || b[10] != b'T' {
        return false;
    }
    if b[13] != b':' || b[16] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) =
        (number(&b[11..13]), number(&b[14..16]), number(&b[17..19]))
    else {
        return false;
    };
    // 60 admits a leap second, as RFC 3339 does.
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut rest = &b[19..];
    if let [b'.', tail @ ..] = rest {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        rest = &tail[digits..];
    }
    match rest {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            matches!((number(&[*h1, *h2]), number(&[*m1, *m2])), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_calendar_dates_only() {
        for good in ["2024-02-29", "2000-02-29", "1999-12-31", "0001-01-01"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-04-31",
            "2024-00-10",
            "2024-1-01",
            "20240101",
            "",
            "2024-01-01 ",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn accepts_date_times_with_an_offset_only() {
        for good in [
            "2024-02-29T13:45:00-03:00",
            "2024-02-29T16:45:00Z",
            "2024-02-29T16:45:00.250+00:00",
            "2024-02-29",
        ] {
            assert!(is_date_or_date_time(good), "{good}");
        }
        for bad in [
            "2024-02-29T13:45:00",
            "2024-02-29T24:00:00Z",
            "2024-02-29 13:45:00Z",
            "2024-02-29T13:45:00.Z",
            "2024-02-29T13:45:00+0300",
            "2024-02-30T13:45:00Z",
        ] {
            assert!(!is_date_or_date_time(bad), "{bad}");
        }
    }
}
