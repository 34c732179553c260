//! Durations as people write them on a command line or in a rule: a whole number and a unit
//! (`90s`, `15m`, `24h`, `7d`). One parser for every front end (the CLI's `--last` and
//! `--lateness`, the Lambda's `TRIPLINE_LATENESS`, rule files), so that none multiplies an
//! unchecked number: each caller states the units it takes and checks the range it allows.

/// Seconds per unit, for the units `s`, `m`, `h` and `d`.
pub const UNITS_SMHD: [(&str, u64); 4] = [("s", 1), ("m", 60), ("h", 3_600), ("d", 86_400)];

/// What is wrong with a duration's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not a whole number followed by a unit.
    #[error("not a whole number and a unit")]
    Syntax,
    /// A number followed by a unit this caller does not take.
    #[error("an unknown unit")]
    Unit,
    /// More seconds than a u64 holds (the caller's range is narrower still).
    #[error("too large")]
    TooLarge,
}

/// The seconds `text` stands for: digits then one of `units` (`("m", 60)`, ...). With
/// `bare_zero`, a lone `0` (no unit) is accepted as zero. Overflow is [`DurationError::TooLarge`],
/// never a wrapped number.
pub fn parse_secs(text: &str, units: &[(&str, u64)], bare_zero: bool) -> Result<u64, DurationError> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(DurationError::Syntax);
    }
    let per_unit = match units.iter().find(|(u, _)| *u == unit) {
        Some((_, secs)) => *secs,
        None if unit.is_empty() && bare_zero && digits.bytes().all(|b| b == b'0') => return Ok(0),
        None if unit.is_empty() => return Err(DurationError::Syntax),
        None => return Err(DurationError::Unit),
    };
    // More digits than a u64 holds is too large, not a syntax error.
    let n: u64 = digits.parse().map_err(|_| DurationError::TooLarge)?;
    n.checked_mul(per_unit).ok_or(DurationError::TooLarge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_and_units() {
        assert_eq!(parse_secs("90s", &UNITS_SMHD, false), Ok(90));
        assert_eq!(parse_secs(" 15m ", &UNITS_SMHD, false), Ok(900));
        assert_eq!(parse_secs("7d", &UNITS_SMHD, false), Ok(604_800));
        assert_eq!(parse_secs("0", &UNITS_SMHD, true), Ok(0));
        assert_eq!(parse_secs("0", &UNITS_SMHD, false), Err(DurationError::Syntax));
        assert_eq!(parse_secs("m", &UNITS_SMHD, false), Err(DurationError::Syntax));
        assert_eq!(parse_secs("-5m", &UNITS_SMHD, false), Err(DurationError::Syntax));
        assert_eq!(parse_secs("5w", &UNITS_SMHD, false), Err(DurationError::Unit));
        assert_eq!(parse_secs("5d", &UNITS_SMHD[..3], false), Err(DurationError::Unit));
        assert_eq!(parse_secs("99999999999999999999s", &UNITS_SMHD, false), Err(DurationError::TooLarge));
        assert_eq!(parse_secs("9999999999999999999d", &UNITS_SMHD, false), Err(DurationError::TooLarge));
    }
}
