//! Small time helpers, so the crate needs no date library: wall clock in
//! milliseconds, exercise offsets as `h:mm:ss`, UTC timestamps, and the
//! datetime syntax report forms accept.

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// `12:05` or `1:02:03` for an exercise offset.
pub(crate) fn exercise_offset(milliseconds: u64) -> String {
    let seconds = milliseconds / 1000;
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes:02}:{seconds:02}")
    }
}

/// `2025-06-01 10:15:00Z`.
pub(crate) fn utc_timestamp(wall_ms: i64) -> String {
    let seconds = wall_ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// `2025-06-01T10:15:00.123Z` (ISO 8601, UTC, milliseconds).
pub(crate) fn iso8601_utc(wall_ms: i64) -> String {
    let seconds = wall_ms.div_euclid(1000);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        wall_ms.rem_euclid(1000)
    )
}

/// The time zone wall-clock times are shown in: a name and a fixed offset
/// from UTC. Fixed, so no zone database is needed; the zones named here
/// keep no daylight saving time (Japan has none), any other is written
/// as an offset (`+09:00`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    name: String,
    offset_minutes: i32,
}

impl Default for TimeZone {
    /// Asia/Tokyo: the exercises are Japanese.
    fn default() -> Self {
        TimeZone {
            name: "Asia/Tokyo".to_owned(),
            offset_minutes: 9 * 60,
        }
    }
}

impl TimeZone {
    /// `Asia/Tokyo`, `UTC` (and a few other zones without daylight saving
    /// time) or an offset `+09:00` / `-05:30`.
    pub fn parse(text: &str) -> Result<TimeZone, String> {
        let text = text.trim();
        let named = [
            ("Asia/Tokyo", 540),
            ("Japan", 540),
            ("Asia/Seoul", 540),
            ("Asia/Shanghai", 480),
            ("Asia/Taipei", 480),
            ("Asia/Singapore", 480),
            ("Asia/Bangkok", 420),
            ("Asia/Kolkata", 330),
            ("UTC", 0),
            ("Etc/UTC", 0),
        ];
        if let Some((name, offset_minutes)) = named
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
        {
            return Ok(TimeZone {
                name: (*name).to_owned(),
                offset_minutes: *offset_minutes,
            });
        }
        let offset = || -> Option<i32> {
            let sign = match text.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = text[1..].split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
            (hours <= 14 && minutes <= 59).then_some(sign * (hours * 60 + minutes))
        };
        offset()
            .map(|offset_minutes| TimeZone {
                name: format!("UTC{text}"),
                offset_minutes,
            })
            .ok_or_else(|| {
                format!(
                    "time zone {text:?} is neither an offset such as +09:00 nor one of {}",
                    named.map(|(name, _)| name).join(", ")
                )
            })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Minutes east of UTC.
    pub fn offset_minutes(&self) -> i32 {
        self.offset_minutes
    }

    /// `2025-06-01 19:15:00` in this zone (no suffix; pages say the zone).
    pub(crate) fn wall_clock(&self, wall_ms: i64) -> String {
        let shifted = wall_ms + i64::from(self.offset_minutes) * 60_000;
        utc_timestamp(shifted).trim_end_matches('Z').to_owned()
    }

    /// `19:15:00`.
    pub(crate) fn time_of_day(&self, wall_ms: i64) -> String {
        self.wall_clock(wall_ms)
            .split_once(' ')
            .map_or(String::new(), |(_, time)| time.to_owned())
    }
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Accepts `YYYY-MM-DDTHH:MM`, optionally with `:SS`, a space instead of
/// `T`, and a `Z` or `±HH:MM` suffix. Returns (year, month, day, hour, minute).
pub(crate) fn parse_datetime(text: &str) -> Option<(u32, u32, u32, u32, u32)> {
    let text = text.trim();
    let text = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix('z'))
        .unwrap_or(text);
    let (date, time) = text.split_once(['T', ' '])?;
    let time = match time.rfind(['+', '-']) {
        Some(position) if position >= 5 => {
            let offset = &time[position + 1..];
            let (hours, minutes) = offset.split_once(':')?;
            if hours.len() != 2
                || minutes.len() != 2
                || hours.parse::<u32>().ok()? > 14
                || minutes.parse::<u32>().ok()? > 59
            {
                return None;
            }
            &time[..position]
        }
        _ => time,
    };
    let date_parts: Vec<&str> = date.split('-').collect();
    let time_parts: Vec<&str> = time.split(':').collect();
    if date_parts.len() != 3 || !(2..=3).contains(&time_parts.len()) {
        return None;
    }
    let number = |part: &str, digits: usize| -> Option<u32> {
        (part.len() == digits && part.bytes().all(|byte| byte.is_ascii_digit()))
            .then(|| part.parse().ok())?
    };
    let (year, month, day) = (
        number(date_parts[0], 4)?,
        number(date_parts[1], 2)?,
        number(date_parts[2], 2)?,
    );
    let (hour, minute) = (number(time_parts[0], 2)?, number(time_parts[1], 2)?);
    if let Some(seconds) = time_parts.get(2) {
        let whole = seconds.split('.').next()?;
        if number(whole, 2)? > 60 {
            return None;
        }
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month || hour > 23 || minute > 59 {
        return None;
    }
    Some((year, month, day, hour, minute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        assert!(parse_datetime("2025-06-01T10:15").is_some());
        assert!(parse_datetime("2025-06-01 10:15:30+09:00").is_some());
        assert!(parse_datetime("2025-06-01T10:15:30Z").is_some());
        assert!(parse_datetime("2025-02-29T10:15").is_none());
        assert!(parse_datetime("2025-06-01T24:00").is_none());
        assert!(parse_datetime("yesterday").is_none());
    }

    #[test]
    fn formats() {
        assert_eq!(exercise_offset(65_000), "01:05");
        assert_eq!(exercise_offset(3_723_000), "1:02:03");
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00Z");
        assert_eq!(utc_timestamp(1_748_772_900_000), "2025-06-01 10:15:00Z");
        let tokyo = TimeZone::default();
        assert_eq!(tokyo.wall_clock(1_748_772_900_000), "2025-06-01 19:15:00");
        assert_eq!(tokyo.time_of_day(1_748_800_000_000), "02:46:40");
    }

    #[test]
    fn time_zones() {
        assert_eq!(TimeZone::parse("asia/tokyo").unwrap(), TimeZone::default());
        assert_eq!(TimeZone::parse("-05:30").unwrap().offset_minutes(), -330);
        assert_eq!(
            TimeZone::parse("UTC").unwrap().wall_clock(0),
            "1970-01-01 00:00:00"
        );
        assert!(TimeZone::parse("Europe/Berlin").is_err());
        assert!(TimeZone::parse("+9").is_err());
    }
}
